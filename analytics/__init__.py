"""The vision pipeline (plain Python core) and its Django side: detections, plate reads, rules, alerts.

Built by the AI analysis issue; the app is registered now so the layout of DESIGN.md §2 is fixed.
"""
