//! The HTTP edge: routes, authentication, the error contract, SSE encoding and transparency
//! headers. Handlers are thin: extract, call the engine, convert the result.

mod app;
mod auth;
mod busy_poll;
mod conn_watch;
mod edge;
mod error;
mod extract;
mod h1;
mod headers;
mod listener;
mod options;
mod routes;
mod state;

pub use app::app;
pub use edge::{App, AppFuture};
pub use error::{ApiError, ErrorFormat, ErrorKind};
pub use listener::serve;
pub use state::AppState;
