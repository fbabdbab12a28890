"""A scripted OctoPrint behind an ``httpx`` transport, to inject faults the real server will not
produce on demand (garbage answers, timeouts, a lost upload answer). It answers the documented
REST shapes; the real server is exercised by ``test_e2e_octoprint.py``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

Fault = Literal["none", "down", "timeout", "garbage", "disconnected", "auth"]


@dataclass
class FakeOctoPrint:
    fault: Fault = "none"
    file: str | None = None
    printing: bool = False
    progress: float | None = None
    error: str | None = None
    refuse_print: bool = False  # the upload is stored but OctoPrint does not start it
    lose_upload_answer: bool = False  # the upload works, its answer times out
    uploads: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    def finish(self) -> None:
        self.printing, self.progress = False, 100.0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.fault == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if self.fault == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if self.fault == "auth":
            return httpx.Response(403, json={"error": "Forbidden"})
        if self.fault == "garbage":
            return httpx.Response(200, content=b"<html>proxy error</html>")
        path, method = request.url.path, request.method
        if (method, path) == ("GET", "/api/connection"):
            text = "Closed" if self.fault == "disconnected" else self._state_text()
            return httpx.Response(200, json={"current": {"state": text, "port": "VIRTUAL", "baudrate": 115200}})
        if (method, path) == ("GET", "/api/printer"):
            if self.fault == "disconnected":
                return httpx.Response(409, json={"error": "Printer is not operational"})
            return httpx.Response(200, json=self._printer())
        if (method, path) == ("GET", "/api/job"):
            return httpx.Response(200, json=self._job())
        if (method, path) == ("POST", "/api/files/local"):
            return self._upload(request)
        if (method, path) == ("POST", "/api/job"):
            command = json.loads(request.content)["command"]
            self.commands.append(command)
            if command == "cancel" and self.printing:
                self.printing, self.progress = False, None
            return httpx.Response(204)
        return httpx.Response(404, json={"error": "Not found"})

    def _state_text(self) -> str:
        if self.error:
            return "Error"
        return "Printing" if self.printing else "Operational"

    def _printer(self) -> dict[str, Any]:
        flags = {
            "operational": not self.error,
            "printing": self.printing,
            "paused": False,
            "error": bool(self.error),
            "ready": not self.printing and not self.error,
        }
        return {
            "state": {"text": self._state_text(), "flags": flags, "error": self.error or ""},
            "temperature": {"tool0": {"actual": 210.0, "target": 210.0}, "bed": {"actual": 60.0, "target": 60.0}},
        }

    def _job(self) -> dict[str, Any]:
        return {
            "job": {"file": {"path": self.file, "name": self.file}},
            "progress": {"completion": self.progress, "printTime": 12 if self.file else None, "printTimeLeft": None},
            "state": self._state_text(),
        }

    def _upload(self, request: httpx.Request) -> httpx.Response:
        match = re.search(rb'filename="([^"]+)"', request.read())
        assert match is not None
        name = match.group(1).decode()
        self.uploads.append(name)
        starts = self.fault == "none" and not self.refuse_print and not self.printing and not self.error
        if starts:
            self.file, self.printing, self.progress = name, True, 0.0
        if self.lose_upload_answer:
            raise httpx.ReadTimeout("answer lost", request=request)
        body = {"done": True, "files": {"local": {"path": name}}, "effectiveSelect": starts, "effectivePrint": starts}
        return httpx.Response(201, json=body)
