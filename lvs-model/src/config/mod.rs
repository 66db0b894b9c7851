//! keepalived.conf: a lexer and parser that read files exactly as keepalived 2.2.7 does, the
//! typed model with keepalived's defaults, and diagnostics with file:line:column.
