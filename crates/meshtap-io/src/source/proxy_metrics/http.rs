//! One HTTP/1.1 `GET` over a stream that is already connected — a port-forward to a pod, or a
//! TCP connection to a Prometheus — with a size cap on the answer.

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest body read: a busy proxy's `/metrics` is a few MiB at most.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Why a `GET` failed.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    #[error("HTTP/1.1 failed: {0}")]
    Http(String),
    #[error("answered {status}: {body}")]
    Status { status: StatusCode, body: String },
    #[error("the answer is larger than {MAX_BODY_BYTES} bytes or broke off: {0}")]
    Body(String),
}

/// Sends `GET path` for `authority` over `stream` and returns a 2xx body.
pub async fn get<S>(stream: S, authority: &str, path: &str) -> Result<Bytes, GetError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| GetError::Http(e.to_string()))?;
    // The connection task ends when the response is read and `sender` is dropped.
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "HTTP/1.1 connection ended with an error");
        }
    });
    let request = Request::get(path)
        .header(header::HOST, authority)
        .header(header::ACCEPT, "text/plain;version=0.0.4, application/json")
        .body(Empty::<Bytes>::new())
        .map_err(|e| GetError::Http(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| GetError::Http(e.to_string()))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| GetError::Body(e.to_string()))?
        .to_bytes();
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(GetError::Status { status, body: text });
    }
    Ok(body)
}
