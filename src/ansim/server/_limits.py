"""The request body limit: a body past it is refused (413) before anything reads or stores it.

FastAPI reads a route's whole body (JSON into memory, multipart into temporary files) before
the route's dependencies run, so before the caller is even authenticated. Without a limit in
front, anyone could make the server hold or spool bodies of any size. Multipart bodies may
carry an upload up to the deployment's upload limit; any other body (JSON, forms) up to
:data:`MAX_OTHER_BODY`. A declared ``Content-Length`` past the limit is refused unread; a
chunked body is counted as it arrives and cut at the limit.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_OTHER_BODY", "BodyLimit"]

MAX_OTHER_BODY = 16 * 1024 * 1024
"""The largest body that is not a multipart upload (bytes)."""
_MULTIPART_OVERHEAD = 1024 * 1024  # boundaries and the form's other fields


class _TooLargeError(Exception):
    """The body passed its limit while it was being received."""


class BodyLimit:
    """ASGI middleware refusing request bodies past their limit with ``413 {"error": …}``.

    Args:
        app: The application.
        max_upload_bytes: The deployment's upload limit (multipart bodies).
    """

    def __init__(self, app: ASGIApp, max_upload_bytes: int) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes

    def _limit(self, scope: Scope) -> tuple[int, str]:
        headers = dict(scope.get("headers") or [])
        kind = headers.get(b"content-type", b"").decode("latin-1").lower()
        if kind.startswith("multipart/"):
            # the app's current limit (a deployment may lower it after start), else the given
            state = getattr(scope.get("app"), "state", None)
            upload = int(getattr(state, "max_upload_bytes", self.max_upload_bytes))
            return (
                upload + _MULTIPART_OVERHEAD,
                f"the upload is larger than the upload limit of {upload} bytes",
            )
        return (
            MAX_OTHER_BODY,
            f"the request body is larger than the limit of {MAX_OTHER_BODY} bytes",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 413 when its body is past the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, message = self._limit(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, message)
            return
        received = 0
        cut = refused = False

        async def counted() -> Message:
            nonlocal received, cut
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    cut = True
                    raise _TooLargeError
            return event

        async def watched(event: Message) -> None:
            # once the body was cut, whatever the app answers (its parser's 400) becomes the 413
            nonlocal refused
            if not cut:
                await send(event)
            elif not refused:
                refused = True
                await _refuse(send, message)

        try:
            await self.app(scope, counted, watched)
        except _TooLargeError:
            if not refused:
                await _refuse(send, message)


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({
        "type": "http.response.start", "status": 413,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), (b"connection", b"close")],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})
