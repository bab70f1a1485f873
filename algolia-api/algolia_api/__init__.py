"""The Algolia Advanced Personalization API contract, in one place.

Hosts and settings (:mod:`.settings`), user-ID rules (:mod:`.user_ids`), error
mapping (:mod:`.errors`), retries (:mod:`.retry`), rate-limit pacing
(:mod:`.pacing`, on the server's clock: :mod:`.server_clock`), the shared HTTP
session (:mod:`.http`), timestamps (:mod:`.timestamps`), response pages
(:mod:`.pages`), what a profile is (:mod:`.profile_rules`), a small client for the profile endpoints
(:mod:`.profiles_client`) and one-line CLI errors on singer-sdk's command
(:mod:`.sdk_cli_errors`, the one module here that touches SDK CLI internals).
tap-algolia and target-algolia import these from the package itself (what
``__all__`` lists), never from its modules; neither re-implements them.
"""

from algolia_api.errors import (
    AlgoliaAPIError,
    AlgoliaFatalError,
    AlgoliaRetriableError,
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    UnprocessableError,
    error_for_response,
    is_retried_status,
    raise_for_response,
)
from algolia_api.http import CallStats, build_session, session_stats, user_agent
from algolia_api.pacing import PacingStopped, RateLimitPacer
from algolia_api.pages import (
    MAX_PAGE_SIZE,
    MalformedResponseError,
    Page,
    PageCycleError,
    PageTokens,
    UndecodableProfile,
    decode_page,
    nesting_depth,
)
from algolia_api.profile_rules import (
    InvalidSegmentsError,
    decode_checked_page,
    decode_profile,
    is_valid_text,
    json_kind,
    profile_problem,
    segment_list_problem,
)
from algolia_api.profiles_client import AlgoliaClient, describe_failure, log_retry
from algolia_api.redaction import one_line, redact
from algolia_api.retry import BASE_DELAY, RETRIABLE_EXCEPTIONS, retry_delay, wait_generator
from algolia_api.sdk_cli_errors import install_clean_errors
from algolia_api.settings import (
    CONNECTION_PROPERTIES,
    MAX_REQUESTS_PER_MINUTE,
    ConnectionSettings,
    TypedSettings,
    plugin_config_schema,
    secret_setting_errors,
)
from algolia_api.timestamps import (
    canonical_timestamp,
    format_canonical,
    format_query_timestamp,
    parse_timestamp,
)
from algolia_api.user_ids import (
    InvalidUserIDError,
    segments_path,
    user_id_problem,
    user_path,
    validate_user_id,
)

__all__ = [
    "BASE_DELAY",
    "CONNECTION_PROPERTIES",
    "MAX_PAGE_SIZE",
    "MAX_REQUESTS_PER_MINUTE",
    "RETRIABLE_EXCEPTIONS",
    "AlgoliaAPIError",
    "AlgoliaClient",
    "AlgoliaFatalError",
    "AlgoliaRetriableError",
    "AuthenticationError",
    "BadRequestError",
    "CallStats",
    "ConnectionSettings",
    "ForbiddenError",
    "InvalidSegmentsError",
    "InvalidUserIDError",
    "MalformedResponseError",
    "NotFoundError",
    "PacingStopped",
    "Page",
    "PageCycleError",
    "PageTokens",
    "RateLimitError",
    "RateLimitPacer",
    "RequestTimeoutError",
    "ServerError",
    "TypedSettings",
    "UndecodableProfile",
    "UnprocessableError",
    "build_session",
    "canonical_timestamp",
    "decode_checked_page",
    "decode_page",
    "decode_profile",
    "describe_failure",
    "error_for_response",
    "format_canonical",
    "format_query_timestamp",
    "install_clean_errors",
    "is_retried_status",
    "is_valid_text",
    "json_kind",
    "log_retry",
    "nesting_depth",
    "one_line",
    "parse_timestamp",
    "plugin_config_schema",
    "profile_problem",
    "raise_for_response",
    "redact",
    "retry_delay",
    "secret_setting_errors",
    "segment_list_problem",
    "segments_path",
    "session_stats",
    "user_agent",
    "user_id_problem",
    "user_path",
    "validate_user_id",
    "wait_generator",
]
