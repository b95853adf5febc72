//! The request body limit, applied where the body is read: poem's `SizeLimit` refuses every
//! request without Content-Length and does not count chunked bytes, so this reads the body
//! itself, up to the limit, and answers 413 past it.

use poem::http::StatusCode;
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result};

pub struct BodyLimit {
    pub max: usize,
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint { ep, max: self.max }
    }
}

pub struct BodyLimitEndpoint<E> {
    ep: E,
    max: usize,
}

fn too_large(max: usize) -> poem::Error {
    poem::Error::from_string(
        format!("the request body is larger than {max} bytes"),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let declared = req
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max as u64) {
            return Err(too_large(self.max));
        }
        let body = req.take_body();
        let bytes = body.into_bytes_limit(self.max).await.map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => too_large(self.max),
            other => poem::Error::from_string(other.to_string(), StatusCode::BAD_REQUEST),
        })?;
        req.set_body(Body::from(bytes));
        self.ep.call(req).await.map(IntoResponse::into_response)
    }
}
