"""No recordings, provably: nothing in the project can keep a call's media.

The media of a call goes peer to peer and never reaches the server (docs/adr/0001), but code that
could record is also kept out: this test reads every Python and JavaScript file of the project and
fails on any media recorder or writing sink. Allowed are sinks that discard (aiortc's
``MediaBlackhole``) and the Web Audio analyser that moves the microphone meter.

The scanner itself is tested on small snippets below, so a change that blinds it fails too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.settings import ROOT

SKIP_DIRS = {".venv", "venv", ".git", "node_modules", "__pycache__", ".balie", "build", "dist"}
THIS_FILE = Path(__file__).resolve()

# aiortc: the one writing sink is MediaRecorder; other names from aiortc.contrib.media must be on
# this list to be imported (a new one is a decision to review, not an accident).
AIORTC_MEDIA_ALLOWED = {"MediaBlackhole", "MediaRelay", "MediaStreamError"}
PY_FORBIDDEN_NAMES = {"MediaRecorder", "MediaRecorderContext", "VideoWriter"}
PY_FORBIDDEN_CALLS = {"to_image", "to_ndarray"}  # a decoded frame turned into something to keep
WRITE_MODES = re.compile(r"[wax+]")

# Browser: MediaRecorder records; ImageCapture takes photos; captureStream, toDataURL/toBlob and
# drawImage turn a video into something that can be kept; script processors and worklets get the
# raw audio samples; a MediaStream destination feeds a recorder.
JS_FORBIDDEN = re.compile(
    r"\b(MediaRecorder|ImageCapture|createMediaStreamDestination|MediaStreamAudioDestinationNode"
    r"|createScriptProcessor|ScriptProcessorNode|AudioWorkletNode|audioWorklet)\b"
    r"|\.(captureStream|mozCaptureStream|toDataURL|toBlob|drawImage|convertToBlob)\s*\("
)
_JS_COMMENTS = re.compile(r"/\*.*?\*/|(?<![:\"'\\])//[^\n]*", re.DOTALL)


def project_files(suffix: str) -> Iterator[Path]:
    for path in ROOT.rglob(f"*{suffix}"):
        if SKIP_DIRS.isdisjoint(path.relative_to(ROOT).parts) and path.resolve() != THIS_FILE:
            yield path


def python_findings(source: str) -> list[str]:
    findings: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("aiortc.contrib.media")
        ):
            findings += [f"imports {a.name}" for a in node.names if a.name not in AIORTC_MEDIA_ALLOWED]
        elif isinstance(node, ast.Name) and node.id in PY_FORBIDDEN_NAMES:
            findings.append(f"uses {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in PY_FORBIDDEN_NAMES | PY_FORBIDDEN_CALLS:
            findings.append(f"uses .{node.attr}")
        elif isinstance(node, ast.alias) and node.name.split(".")[-1] in PY_FORBIDDEN_NAMES:
            findings.append(f"imports {node.name}")
        elif isinstance(node, ast.Call) and _opens_media_for_writing(node):
            findings.append("opens a media container for writing")
    return findings


def _opens_media_for_writing(call: ast.Call) -> bool:
    """``av.open(..., "w")`` / ``mode="w"``: PyAV writing a media file."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "open"):
        return False
    if not (isinstance(func.value, ast.Name) and func.value.id == "av"):
        return False
    modes = [k.value for k in call.keywords if k.arg == "mode"] + call.args[1:2]
    return any(isinstance(m, ast.Constant) and WRITE_MODES.search(str(m.value)) for m in modes)


def javascript_findings(source: str) -> list[str]:
    code = _JS_COMMENTS.sub("", source)
    return [match.group(0) for match in JS_FORBIDDEN.finditer(code)]


def test_no_python_file_records_media() -> None:
    files = list(project_files(".py"))
    assert len(files) > 50, "the scan found too few files: is ROOT right?"
    findings = {
        str(path.relative_to(ROOT)): found
        for path in files
        if (found := python_findings(path.read_text(encoding="utf-8")))
    }
    assert findings == {}


def test_no_browser_code_records_media() -> None:
    files = list(project_files(".js")) + list(project_files(".html"))
    assert any(p.name == "call.js" for p in files) and any(p.name == "room.html" for p in files)
    findings = {
        str(path.relative_to(ROOT)): found
        for path in files
        if (found := javascript_findings(path.read_text(encoding="utf-8")))
    }
    assert findings == {}


@pytest.mark.parametrize(
    "source",
    [
        "from aiortc.contrib.media import MediaRecorder",
        "from aiortc.contrib.media import MediaBlackhole, MediaRecorder as Keep",
        "import aiortc.contrib.media as m\nsink = m.MediaRecorder('call.mp4')",
        "from aiortc.contrib.media import MediaPlayer",
        "import av\ncontainer = av.open('call.webm', 'w')",
        "import av\ncontainer = av.open('call.webm', mode='wb')",
        "image = frame.to_image()",
        "import cv2\nout = cv2.VideoWriter('x.avi', 0, 25, (640, 480))",
    ],
)
def test_the_python_scan_sees_recorders(source: str) -> None:
    assert python_findings(source)


@pytest.mark.parametrize(
    "source",
    [
        "from aiortc.contrib.media import MediaBlackhole\nsink = MediaBlackhole()",
        "import av\nplayer = av.open('clip.webm')",
        "# never a MediaRecorder here\nx = 1",
        "text = 'MediaRecorder'",
    ],
)
def test_the_python_scan_lets_discarding_sinks_be(source: str) -> None:
    assert python_findings(source) == []


@pytest.mark.parametrize(
    "source",
    [
        "const recorder = new MediaRecorder(stream);",
        "const r = new window.MediaRecorder(stream, { mimeType: 'video/webm' });",
        "const photo = await new ImageCapture(track).takePhoto();",
        "const copy = video.captureStream();",
        "context.drawImage(video, 0, 0); const url = canvas.toDataURL();",
        "const node = context.createMediaStreamDestination();",
        "await context.audioWorklet.addModule('tap.js');",
    ],
)
def test_the_browser_scan_sees_recorders(source: str) -> None:
    assert javascript_findings(source)


@pytest.mark.parametrize(
    "source",
    [
        "// Nothing is recorded: no MediaRecorder anywhere.\nconst a = 1;",
        "/* MediaRecorder is not used */ const analyser = context.createAnalyser();",
        "const url = 'http://example.org/'; // a URL is not a comment; this is one: MediaRecorder",
    ],
)
def test_the_browser_scan_ignores_comments(source: str) -> None:
    assert javascript_findings(source) == []
