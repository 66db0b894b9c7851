//! Simulated hosts on smoltcp: the web server ("httpd") and the HTTP client load generator.
