"""Error responses in Algolia's ``{"message": ..., "status": ...}`` shape."""

from __future__ import annotations

# Messages are the enum values of the published schemas where one exists, so
# the responses validate against the vendored OpenAPI file.
UNAUTHORIZED = "Unauthorized"
FORBIDDEN = "Method not allowed with this API key"
NOT_FOUND = "Not Found"
TOO_MANY_REQUESTS = "Too Many Requests"
UNPROCESSABLE = "Unprocessable Entity"
BAD_USER_ID = "Invalid userID format"
INVALID_BODY = "Invalid request body"
# The spec's ``invalidUserID`` enum is one sentence that a generator split at
# its commas; only its first fragment is a value the schema accepts as a
# whole, so that fragment is what the emulator sends.
INVALID_USER_ID = "UserID must contain only alphanumeric"

REASONS: dict[int, str] = {
    400: "Bad Request",
    401: UNAUTHORIZED,
    402: "Payment Required",
    403: FORBIDDEN,
    404: NOT_FOUND,
    408: "Request Timeout",
    409: "Conflict",
    422: UNPROCESSABLE,
    429: TOO_MANY_REQUESTS,
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiError(Exception):
    """Raised by handlers; the server turns it into an error response."""

    def __init__(self, status: int, message: str | None = None, detail: str | None = None) -> None:
        self.status = status
        self.message = message if message is not None else REASONS.get(status, "Error")
        self.detail = detail
        super().__init__(f"{status} {self.message}")

    def body(self) -> dict[str, object]:
        return {"message": self.message, "status": self.status}
