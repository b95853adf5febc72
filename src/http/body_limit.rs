//! The request limits, applied before any handler runs.
//!
//! - **Header block**: a request line plus headers over [`MAX_HEADER_BYTES`] is a 431 in the
//!   dialect's shape. (hyper itself refuses a block over about 400 KiB, or more than 100
//!   headers, with a bare 431 and closes the connection.)
//! - **Body**: poem's `SizeLimit` refuses every request without Content-Length and does not
//!   count chunked bytes, so this reads the body itself, up to the limit, and answers 413
//!   past it. The 413 is answered at once, and the rest of the body is read and discarded in
//!   the background (a lingering close, as nginx does), up to [`DRAIN_MAX`] bytes or
//!   [`DRAIN_TIME`]: a client still writing its body sees the 413 instead of a connection
//!   reset. Past either bound the connection is closed.

use std::time::Duration;

use poem::http::StatusCode;
use poem::{Body, Endpoint, IntoResponse, Request, Response, Result};

/// The documented limit of a request's header block: the request line and every header's
/// name and value, with their separators.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Past the body limit, up to this many further bytes are read and discarded after the 413.
pub const DRAIN_MAX: u64 = 64 * 1024 * 1024;

/// And for at most this long.
pub const DRAIN_TIME: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct BodyLimit {
    pub max: usize,
    /// The limit of `/scim/v2/Bulk`, which carries many resources at once.
    pub bulk_max: usize,
}

super::middleware!(BodyLimit);

fn too_large(max: usize) -> poem::Error {
    poem::Error::from_string(
        format!("the request body is larger than {max} bytes"),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

/// The size of the header block as the client sent it (near enough: HTTP/1.1 framing).
pub fn header_block_len(req: &Request) -> usize {
    let line = req.method().as_str().len()
        + req.uri().path_and_query().map_or(1, |p| p.as_str().len())
        + 12;
    req.headers().iter().fold(line, |n, (k, v)| {
        n + k.as_str().len() + v.as_bytes().len() + 4
    })
}

/// Read and discard what is left of a body, within the bounds, off the request's task.
fn linger<B: AsRef<[u8]> + Send + 'static>(
    stream: impl futures_util::Stream<Item = std::io::Result<B>> + Send + 'static,
) {
    use futures_util::StreamExt;
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        let mut seen: u64 = 0;
        let _ = tokio::time::timeout(DRAIN_TIME, async {
            while let Some(Ok(chunk)) = stream.next().await {
                seen += chunk.as_ref().len() as u64;
                if seen > DRAIN_MAX {
                    break;
                }
            }
        })
        .await;
    });
}

impl<E: Endpoint> Endpoint for super::Wrapped<BodyLimit, E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        use futures_util::StreamExt;

        let max = if req.uri().path() == "/scim/v2/Bulk" {
            self.by.bulk_max
        } else {
            self.by.max
        };
        if header_block_len(&req) > MAX_HEADER_BYTES {
            linger(req.take_body().into_bytes_stream());
            return Err(poem::Error::from_string(
                format!("the request's header block is larger than {MAX_HEADER_BYTES} bytes"),
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ));
        }

        let declared = req
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut stream = req.take_body().into_bytes_stream();
        if declared.is_some_and(|n| n > max as u64) {
            linger(stream);
            return Err(too_large(max));
        }
        let mut buf = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                poem::Error::from_string(
                    format!("cannot read the body: {e}"),
                    StatusCode::BAD_REQUEST,
                )
            })?;
            if buf.len() + chunk.len() > max {
                linger(stream);
                return Err(too_large(max));
            }
            buf.extend_from_slice(&chunk);
        }
        req.set_body(Body::from(buf));
        self.ep.call(req).await.map(IntoResponse::into_response)
    }
}
