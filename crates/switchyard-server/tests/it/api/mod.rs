//! API behaviour tests (issue: foundation).
