//! A stand-in for an S3 server that refuses the app's credentials, placed in front of the real
//! one (moto, which accepts any credentials, so it cannot refuse them itself).
//!
//! While refusing, every request is answered the way AWS S3 answers a request signed with a
//! key it does not know (`InvalidAccessKeyId`) or with the wrong secret
//! (`SignatureDoesNotMatch`): HTTP 403, `application/xml`, S3's `<Error>` document (HEAD gets
//! the status without a body, as from S3). Once opened, requests pass through to the real
//! server unchanged, as if the operator had fixed the key at the provider.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, TRANSFER_ENCODING};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use std::sync::{Arc, Mutex};

/// How the stand-in refuses a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The access key id does not exist.
    InvalidAccessKeyId,
    /// The key exists, the secret is wrong.
    SignatureDoesNotMatch,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::InvalidAccessKeyId => "InvalidAccessKeyId",
            Refusal::SignatureDoesNotMatch => "SignatureDoesNotMatch",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Refusal::InvalidAccessKeyId => "The AWS Access Key Id you provided does not exist in our records.",
            Refusal::SignatureDoesNotMatch => {
                "The request signature we calculated does not match the signature you provided. Check your key and signing method."
            }
        }
    }
}

#[derive(Clone)]
struct Gate {
    upstream: String,
    refusal: Arc<Mutex<Option<Refusal>>>,
    refused: Arc<Mutex<u64>>,
    http: reqwest::Client,
}

pub struct S3Gate {
    /// The endpoint to configure as `AUDIT_COLD_ENDPOINT`.
    pub endpoint: String,
    gate: Gate,
}

impl S3Gate {
    /// Starts refusing on an ephemeral port, in front of the S3 server at `upstream`.
    pub async fn start(upstream: &str, refusal: Refusal) -> S3Gate {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let gate = Gate {
            upstream: upstream.trim_end_matches('/').to_owned(),
            refusal: Arc::new(Mutex::new(Some(refusal))),
            refused: Arc::new(Mutex::new(0)),
            http: reqwest::Client::new(),
        };
        let app = axum::Router::new().fallback(answer).with_state(gate.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        S3Gate { endpoint, gate }
    }

    pub fn refuse(&self, refusal: Refusal) {
        *self.gate.refusal.lock().unwrap() = Some(refusal);
    }

    /// From now on, requests reach the real server.
    pub fn open(&self) {
        *self.gate.refusal.lock().unwrap() = None;
    }

    /// How many requests were refused so far.
    pub fn refused(&self) -> u64 {
        *self.gate.refused.lock().unwrap()
    }
}

async fn answer(State(gate): State<Gate>, request: Request) -> Response {
    let refusal = *gate.refusal.lock().unwrap();
    match refusal {
        Some(refusal) => {
            *gate.refused.lock().unwrap() += 1;
            refuse(refusal, &request)
        }
        None => pass_through(&gate, request).await,
    }
}

/// `Credential=<key id>/<scope>` and `Signature=<hex>` from a SigV4 Authorization header.
fn authorization_part<'a>(authorization: &'a str, name: &str) -> &'a str {
    authorization
        .split([' ', ','])
        .find_map(|part| part.strip_prefix(name))
        .unwrap_or("")
}

fn refuse(refusal: Refusal, request: &Request) -> Response {
    let authorization = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let key_id = authorization_part(authorization, "Credential=")
        .split('/')
        .next()
        .unwrap_or("");
    let signature = match refusal {
        Refusal::SignatureDoesNotMatch => format!(
            "<SignatureProvided>{}</SignatureProvided>",
            authorization_part(authorization, "Signature=")
        ),
        Refusal::InvalidAccessKeyId => String::new(),
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>\
         <AWSAccessKeyId>{key_id}</AWSAccessKeyId>{signature}<RequestId>4442587FB7D0A2F9</RequestId>\
         <HostId>dezky-test-s3-gate</HostId></Error>",
        refusal.code(),
        refusal.message()
    );
    let body = if request.method() == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body)
    };
    Response::builder()
        .status(StatusCode::FORBIDDEN)
        .header(CONTENT_TYPE, "application/xml")
        .header("x-amz-request-id", "4442587FB7D0A2F9")
        .body(body)
        .unwrap()
}

async fn pass_through(gate: &Gate, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    let mut forwarded = gate
        .http
        .request(parts.method.clone(), format!("{}{path}", gate.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != HOST && name != CONTENT_LENGTH {
            forwarded = forwarded.header(name, value);
        }
    }
    let upstream = forwarded.send().await.unwrap();
    let mut response = Response::builder().status(upstream.status());
    // Content-Length is kept: a HEAD answer has no body, and the length is what it reports.
    for (name, value) in upstream.headers() {
        if name != TRANSFER_ENCODING && name != CONNECTION {
            response = response.header(name, value);
        }
    }
    let bytes = upstream.bytes().await.unwrap();
    response.body(Body::from(bytes)).unwrap()
}
