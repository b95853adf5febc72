//! The request body limit, applied where the body is read: poem's `SizeLimit` refuses every
//! request without Content-Length and does not count chunked bytes, so this reads the body
//! itself, up to the limit, and answers 413 past it.

use poem::http::StatusCode;
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result};

pub struct BodyLimit {
    pub max: usize,
    /// The limit of `/scim/v2/Bulk`, which carries many resources at once.
    pub bulk_max: usize,
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            ep,
            max: self.max,
            bulk_max: self.bulk_max,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    ep: E,
    max: usize,
    bulk_max: usize,
}

fn too_large(max: usize) -> poem::Error {
    poem::Error::from_string(
        format!("the request body is larger than {max} bytes"),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

/// Past the limit, up to this many further bytes are read and discarded before answering 413,
/// so a client still sending sees the answer instead of a reset connection; beyond it the
/// connection is simply closed after the answer.
const DRAIN_MAX: u64 = 8 * 1024 * 1024;

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        use futures_util::StreamExt;

        let max = if req.uri().path() == "/scim/v2/Bulk" {
            self.bulk_max
        } else {
            self.max
        };

        let declared = req
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max as u64 + DRAIN_MAX) {
            return Err(too_large(max));
        }
        let mut stream = req.take_body().into_bytes_stream();
        let mut buf = Vec::new();
        let mut seen: u64 = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                poem::Error::from_string(
                    format!("cannot read the body: {e}"),
                    StatusCode::BAD_REQUEST,
                )
            })?;
            seen += chunk.len() as u64;
            if seen > max as u64 + DRAIN_MAX {
                break;
            }
            if seen <= max as u64 {
                buf.extend_from_slice(&chunk);
            }
        }
        if seen > max as u64 {
            return Err(too_large(max));
        }
        req.set_body(Body::from(buf));
        self.ep.call(req).await.map(IntoResponse::into_response)
    }
}
