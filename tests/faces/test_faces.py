"""Face detection (MTCNN) and embeddings (dlib ResNet) on real photos, and the face observer on a person track.

The photos come with Debian's ``opencv-doc`` (its HTML tutorials): ``facereg.jpg`` (four people,
2×2), ``227943776_1.jpg`` and ``230501201_1.jpg`` (two men, one each), ``face_swapped.jpg`` (the
first man's photo with the second man's face put in by OpenCV's face-swap tutorial: one person's
face in another photo) and ``Cascade_Classifier_Tutorial_Result_Haar.jpg`` (a woman, with the
cascade's circles drawn on her). About 10 s: one detector and one embedder for the module.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from analytics.faces import SAME_PERSON_DISTANCE, Face, distance, make_detector, make_embedder
from analytics.faces.dlib_embedder import DlibFaceEmbedder
from analytics.faces.mtcnn_detector import MtcnnFaceDetector
from analytics.pipeline.base import Box, Frame, Track
from analytics.pipeline.config import FacesConfig
from analytics.pipeline.observers.faces import FaceObserver

HTML = Path("/usr/share/doc/opencv-doc/opencv4/html")
MAN_A = HTML / "227943776_1.jpg"
MAN_B = HTML / "230501201_1.jpg"
B_IN_A = HTML / "face_swapped.jpg"
WOMAN = HTML / "Cascade_Classifier_Tutorial_Result_Haar.jpg"
FOUR = HTML / "facereg.jpg"


def _photo(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, f"{path} is missing: install the Debian package opencv-doc (make setup does)"
    return image


@pytest.fixture(scope="module")
def detector() -> MtcnnFaceDetector:
    detector = make_detector("mtcnn", min_face_px=20)
    assert isinstance(detector, MtcnnFaceDetector)
    return detector


@pytest.fixture(scope="module")
def embedder() -> DlibFaceEmbedder:
    embedder = make_embedder("dlib")
    assert isinstance(embedder, DlibFaceEmbedder)
    return embedder


def _one_face(detector: MtcnnFaceDetector, image: np.ndarray) -> Face:
    faces = [f for f in detector.detect(image) if f.probability > 0.9]
    assert len(faces) == 1, faces
    return faces[0]


def _embedding(detector: MtcnnFaceDetector, embedder: DlibFaceEmbedder, image: np.ndarray) -> np.ndarray:
    vector = embedder.embed(image, _one_face(detector, image))
    assert vector.shape == (128,) and np.isfinite(vector).all()
    return vector


@pytest.fixture(scope="module")
def photo_embeddings(detector: MtcnnFaceDetector, embedder: DlibFaceEmbedder) -> dict[Path, np.ndarray]:
    return {path: _embedding(detector, embedder, _photo(path)) for path in (MAN_A, MAN_B, B_IN_A, WOMAN)}


def test_finds_the_four_faces_of_a_group_photo(detector: MtcnnFaceDetector) -> None:
    image = _photo(FOUR)
    faces = [f for f in detector.detect(image) if f.probability > 0.95]
    h, w = image.shape[:2]
    quadrants = sorted((int(f.box[1] + f.height / 2 > h / 2), int(f.box[0] + f.width / 2 > w / 2)) for f in faces)
    assert quadrants == [(0, 0), (0, 1), (1, 0), (1, 1)]  # one face in each quarter, nothing else
    for face in faces:
        assert 40 <= face.size <= 100 and len(face.landmarks) == 5
    assert "MTCNN" in detector.model


def test_finds_one_face_where_it_is(detector: MtcnnFaceDetector) -> None:
    face = _one_face(detector, _photo(MAN_A))
    cx, cy = face.box[0] + face.width / 2, face.box[1] + face.height / 2
    assert 180 < cx < 260 and 130 < cy < 230 and face.size > 120  # the head, top middle of the 434-px portrait
    assert detector.detect(np.full((300, 300, 3), 127, np.uint8)) == []  # a blank wall has no face


def test_same_face_is_closer_than_different_faces(
    detector: MtcnnFaceDetector, embedder: DlibFaceEmbedder, photo_embeddings: dict[Path, np.ndarray]
) -> None:
    a = _photo(MAN_A)
    ea = photo_embeddings[MAN_A]
    h, w = a.shape[:2]
    variants = {
        "flipped": cv2.flip(a, 1),
        "scaled 0.5": cv2.resize(a, (w // 2, h // 2), interpolation=cv2.INTER_AREA),
        "shifted": np.ascontiguousarray(a[30:, 50:]),
        "darker": cv2.convertScaleAbs(a, alpha=0.6),
        "jpeg q30": cv2.imdecode(cv2.imencode(".jpg", a, [cv2.IMWRITE_JPEG_QUALITY, 30])[1], cv2.IMREAD_COLOR),
    }
    same = {name: distance(ea, _embedding(detector, embedder, image)) for name, image in variants.items()}
    assert all(d < SAME_PERSON_DISTANCE for d in same.values()), same

    eb, eb_in_a, ew = photo_embeddings[MAN_B], photo_embeddings[B_IN_A], photo_embeddings[WOMAN]
    different = {"A-B": distance(ea, eb), "A-woman": distance(ea, ew), "B-woman": distance(eb, ew)}
    assert all(d > SAME_PERSON_DISTANCE for d in different.values()), different
    # B's face in A's photo (same hair, shirt, light and background as A) is B, not A: the face decides.
    assert distance(eb_in_a, eb) < SAME_PERSON_DISTANCE < distance(eb_in_a, ea)
    assert max(same.values()) < min(different.values())


def test_distance_and_names_say_what_is_wrong() -> None:
    assert distance([0.0, 3.0], [4.0, 0.0]) == 5.0
    with pytest.raises(ValueError, match="one length"):
        distance([0.0] * 128, [0.0] * 127)
    with pytest.raises(ValueError, match="known: mtcnn"):
        make_detector("haar")
    with pytest.raises(ValueError, match="known: dlib"):
        make_embedder("facenet")


def _scene() -> tuple[np.ndarray, Box]:
    """Man A's portrait as the upper half of a standing person (a dark body below) on a grey street."""
    frame = np.full((576, 768, 3), 110, np.uint8)
    portrait = cv2.resize(_photo(MAN_A), (260, 260), interpolation=cv2.INTER_AREA)
    frame[20:280, 250:510] = portrait
    cv2.rectangle(frame, (270, 280), (490, 540), (50, 45, 40), -1)
    return frame, Box(250, 20, 510, 540)


def _track(track_id: int, cls: str, box: Box, t: float) -> Track:
    return Track(id=track_id, cls=cls, boxes=(box,), times=(t,), first_seen=0.0, last_seen=t, hits=3, confidence=0.9)


def test_observer_embeds_the_face_of_a_person_track(
    detector: MtcnnFaceDetector, embedder: DlibFaceEmbedder, photo_embeddings: dict[Path, np.ndarray]
) -> None:
    frame, person = _scene()
    observer = FaceObserver(FacesConfig(every_s=1.0), detector=detector, embedder=embedder)
    car = _track(2, "car", person, 0.0)  # faces are looked for on people only
    [sighting] = observer.update([_track(1, "person", person, 0.0), car], Frame(0, 0.0, frame))
    assert (sighting.kind, sighting.track_id, len(sighting.embedding)) == ("face", 1, 128)
    assert distance(sighting.embedding, photo_embeddings[MAN_A]) < SAME_PERSON_DISTANCE
    assert distance(sighting.embedding, photo_embeddings[MAN_B]) > SAME_PERSON_DISTANCE
    portrait = Box(250, 20, 510, 280)
    assert portrait.intersection(sighting.box) == sighting.box.area and 60 < sighting.box.height < 160  # frame pixels
    assert sighting.crop.shape == (round(sighting.box.height), round(sighting.box.width), 3)
    assert sighting.confidence > 0.95 and "MTCNN" in sighting.model and "dlib" in sighting.model

    # A good face ends the looks at that track; a new person is looked at, a small one is not.
    assert observer.update([_track(1, "person", person, 2.0)], Frame(20, 2.0, frame)) == []
    small = Box(250, 20, 290, 90)
    assert observer.update([_track(3, "person", small, 2.0)], Frame(20, 2.0, frame)) == []
    assert len(observer.update([_track(4, "person", person, 2.0)], Frame(20, 2.0, frame))) == 1


def test_observer_waits_every_s_between_looks(detector: MtcnnFaceDetector, embedder: DlibFaceEmbedder) -> None:
    frame, person = _scene()
    blank = np.full_like(frame, 110)  # the person turned away: no face yet, so the track stays wanted
    observer = FaceObserver(FacesConfig(every_s=1.0, good_confidence=1.0), detector=detector, embedder=embedder)
    assert observer.update([_track(1, "person", person, 0.0)], Frame(0, 0.0, blank)) == []
    assert observer.update([_track(1, "person", person, 0.4)], Frame(4, 0.4, frame)) == []  # too soon to look again
    assert len(observer.update([_track(1, "person", person, 1.0)], Frame(10, 1.0, frame))) == 1
    # Looked at again (never "good" at 1.0), but the same face is no improvement: nothing new to report.
    assert observer.update([_track(1, "person", person, 2.0)], Frame(20, 2.0, frame)) == []
