//! keepalived's health checkers (TCP_CHECK, HTTP_GET, MISC_CHECK) as sans-IO timers.
