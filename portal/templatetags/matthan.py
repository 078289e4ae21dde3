"""Formatting for pages: shares as percentages, areas in km², amounts in VND."""

from typing import Any

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def percent(value: Any) -> str:
    try:
        return f"{number_format(float(value) * 100, 1)} %"
    except (TypeError, ValueError):
        return "–"


@register.filter
def percent_css(value: Any) -> str:
    try:
        return f"{max(0.0, min(100.0, float(value) * 100)):.1f}%"
    except (TypeError, ValueError):
        return "0%"


@register.filter
def km2(value: Any) -> str:
    try:
        return number_format(float(value) / 1e6, 2)
    except (TypeError, ValueError):
        return "–"


@register.filter
def vnd(value: Any) -> str:
    """1234567 → "1.234.567 ₫" (Vietnamese grouping whatever the page language)."""
    if value in (None, ""):
        return "–"
    try:
        return f"{int(value):,} ₫".replace(",", ".")
    except (TypeError, ValueError):
        return "–"
