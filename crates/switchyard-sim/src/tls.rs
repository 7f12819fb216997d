//! TLS for the simulator: the server identity ([`SimTls`]) and an `axum::serve` listener that
//! terminates TLS, so `axum::serve` keeps handling HTTP/1.1 and HTTP/2 on each connection.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// A TLS handshake taking longer than this is abandoned.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Completed handshakes waiting for `axum::serve` to pick them up.
const ACCEPT_QUEUE: usize = 128;

/// ALPN protocols offered by default, in server preference order (the client's list decides).
const ALPN_H2: &[u8] = b"h2";
const ALPN_HTTP1: &[u8] = b"http/1.1";

/// The simulator's TLS server identity and settings (a shared rustls `ServerConfig`).
///
/// Built from PEM files with [`SimTls::from_pem_files`]; offers ALPN `h2` and `http/1.1`.
/// Equality is identity: two values are equal when they share the same `ServerConfig`.
#[derive(Clone)]
pub struct SimTls {
    config: Arc<rustls::ServerConfig>,
}

impl SimTls {
    /// Loads a certificate chain (PEM, leaf first) and its private key (PEM: PKCS#8, SEC1 or
    /// PKCS#1), using rustls' `ring` provider and offering ALPN `h2` and `http/1.1`.
    ///
    /// Errors are `std::io::Error`s naming the file: unreadable files keep their kind
    /// (`NotFound`, ...); a file without a certificate / key, bad PEM, or a key that does not
    /// match the certificate give `InvalidData`.
    pub fn from_pem_files(
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> io::Result<SimTls> {
        let cert_path = cert_path.as_ref();
        let key_path = key_path.as_ref();

        let cert_pem = read(cert_path, "certificate")?;
        let certs = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error(cert_path, "certificate", &e))?;
        if certs.is_empty() {
            return Err(pem_error(
                cert_path,
                "certificate",
                &pem::Error::NoItemsFound,
            ));
        }

        let key_pem = read(key_path, "private key")?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| pem_error(key_path, "private key", &e))?;

        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            invalid(format!(
                "TLS certificate {} with key {}: {e}",
                cert_path.display(),
                key_path.display()
            ))
        })?;
        config.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP1.to_vec()];
        Ok(SimTls {
            config: Arc::new(config),
        })
    }

    /// Wraps a ready rustls `ServerConfig` as is (its ALPN list included).
    pub fn from_server_config(config: Arc<rustls::ServerConfig>) -> SimTls {
        SimTls { config }
    }

    /// The same identity offering only ALPN `http/1.1`, to test a client's fallback from h2.
    pub fn http1_only(&self) -> SimTls {
        let mut config = rustls::ServerConfig::clone(&self.config);
        config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
        SimTls {
            config: Arc::new(config),
        }
    }

    /// The underlying rustls configuration.
    pub fn server_config(&self) -> &Arc<rustls::ServerConfig> {
        &self.config
    }
}

impl fmt::Debug for SimTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let alpn: Vec<_> = self
            .config
            .alpn_protocols
            .iter()
            .map(|p| String::from_utf8_lossy(p))
            .collect();
        f.debug_struct("SimTls")
            .field("alpn", &alpn)
            .finish_non_exhaustive()
    }
}

impl PartialEq for SimTls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.config, &other.config)
    }
}

impl Eq for SimTls {}

fn read(path: &Path, what: &str) -> io::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot read TLS {what} {}: {e}", path.display()),
        )
    })
}

fn pem_error(path: &Path, what: &str, error: &pem::Error) -> io::Error {
    match error {
        pem::Error::NoItemsFound => invalid(format!(
            "TLS {what} {}: no {what} PEM section found",
            path.display()
        )),
        other => invalid(format!("TLS {what} {}: {other}", path.display())),
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// An `axum::serve` listener terminating TLS.
///
/// A background task accepts TCP connections and runs each handshake in its own task (bounded
/// by [`HANDSHAKE_TIMEOUT`]), so a slow or broken client never holds up the others; completed
/// streams arrive over a channel. Failed handshakes are dropped and never end the server. When
/// the listener is dropped (shutdown), the accept task and pending handshakes stop and the port
/// is released.
pub(crate) struct TlsListener {
    local_addr: SocketAddr,
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Starts accepting on `tcp`; must be called inside a tokio runtime.
    pub(crate) fn new(tcp: TcpListener, tls: &SimTls) -> io::Result<Self> {
        let local_addr = tcp.local_addr()?;
        let (tx, incoming) = mpsc::channel(ACCEPT_QUEUE);
        let acceptor = TlsAcceptor::from(Arc::clone(&tls.config));
        tokio::spawn(accept_loop(tcp, acceptor, tx));
        Ok(Self {
            local_addr,
            incoming,
        })
    }
}

type Accepted = (TlsStream<TcpStream>, SocketAddr);

async fn accept_loop(tcp: TcpListener, acceptor: TlsAcceptor, tx: mpsc::Sender<Accepted>) {
    loop {
        let accepted = tokio::select! {
            () = tx.closed() => return,
            accepted = tcp.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                if !is_connection_error(&e) {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::select! {
                        () = tx.closed() => return,
                        () = tokio::time::sleep(Duration::from_millis(100)) => {}
                    }
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = tx.closed() => {}
                handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => {
                    // A failed or timed-out handshake only drops that connection.
                    if let Ok(Ok(tls)) = handshake {
                        let _ = tx.send((tls, peer)).await;
                    }
                }
            }
        });
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(accepted) => accepted,
            // The accept task only ends once this listener is gone; never resolve otherwise.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}
