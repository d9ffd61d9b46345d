"""Every API error is JSON ``{"code": ..., "message": ...}`` with a fitting HTTP status."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError


class ErrorOut(Schema):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ApiError(Exception):
    """Raised by endpoints; turned into an :class:`ErrorOut` response with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def not_found() -> ApiError:
    return ApiError(404, "not_found", gettext("Not found."))


# Responses every authenticated operation may give, for the OpenAPI description.
ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    404: ErrorOut,
    422: ErrorOut,
}


def install_error_handlers(api: NinjaAPI) -> None:
    def reply(
        request: HttpRequest,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
    ) -> HttpResponse:
        body: dict[str, Any] = {"code": code, "message": message}
        if details is not None:
            body["details"] = details
        return api.create_response(request, body, status=status)

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, error: ApiError) -> HttpResponse:
        return reply(request, error.status, error.code, error.message, error.details)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
        response = reply(
            request,
            401,
            "unauthenticated",
            gettext("Send a valid API token as 'Authorization: Bearer <token>'."),
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
        details = [
            {
                "location": ".".join(str(part) for part in problem.get("loc", ())),
                "message": str(problem.get("msg", "")),
            }
            for problem in error.errors
        ]
        return reply(request, 422, "invalid_request", gettext("The request is not valid."), details)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
        return reply(request, error.status_code, "http_error", str(error))

    @api.exception_handler(Http404)
    def missing(request: HttpRequest, error: Http404) -> HttpResponse:
        return reply(request, 404, "not_found", gettext("Not found."))
