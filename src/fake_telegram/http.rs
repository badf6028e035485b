//! The fake's HTTP side on hyper: `/bot<token>/<method>` with its parameters as JSON,
//! multipart/form-data (multer: teloxide uploads files so, streaming those from disk chunked)
//! or urlencoded, and the query string; each call goes to the state and its reply back as the
//! Bot API's JSON envelope.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{json, Map, Value};
use teloxide::types::{ResponseParameters, Seconds};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::state::{ApiRequest, Reply, Shared, UploadedFile};

/// The largest request body the fake reads (a backup sent as a document is the biggest).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Accepts connections until the task is aborted; aborting drops the open connections too.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let service = service_fn(move |request| answer(shared.clone(), request));
                // hyper notices a peer that hangs up while a call waits (a long poll dropped
                // when the dispatcher stops) and drops the call with the connection.
                let connection =
                    http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                connections.spawn(async move {
                    let _ = connection.await;
                });
            }
            Err(error) => {
                log::warn!("fake Telegram: accept failed: {error}");
                tokio::task::yield_now().await;
            }
        }
    }
}

/// What the service returns to make hyper drop the connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the connection is dropped without an answer (an injected network error)")
    }
}

impl std::error::Error for DropConnection {}

async fn answer(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let reply = match api_request(&shared, request).await {
        Ok(api) => shared.handle(api).await,
        Err(reply) => reply,
    };
    let (status, envelope) = match reply {
        Reply::Ok(result) => (200, Envelope::ok(result)),
        Reply::Error {
            code,
            description,
            retry_after,
        } => (code, Envelope::error(code, description, retry_after)),
        Reply::Close => return Err(DropConnection),
    };
    let body = serde_json::to_vec(&envelope).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// The Bot API's answer around every result or error.
#[derive(Serialize)]
struct Envelope {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<ResponseParameters>,
}

impl Envelope {
    fn ok(result: Value) -> Self {
        Self {
            ok: true,
            result: Some(result),
            error_code: None,
            description: None,
            parameters: None,
        }
    }

    fn error(code: u16, description: String, retry_after: Option<u32>) -> Self {
        Self {
            ok: false,
            result: None,
            error_code: Some(code),
            description: Some(description),
            parameters: retry_after
                .map(|s| ResponseParameters::RetryAfter(Seconds::from_seconds(s))),
        }
    }
}

fn error_reply(code: u16, description: &str) -> Reply {
    Reply::Error {
        code,
        description: description.to_owned(),
        retry_after: None,
    }
}

fn bad_request(what: impl std::fmt::Display) -> Reply {
    error_reply(400, &format!("Bad Request: {what}"))
}

/// Routes and decodes a request; `Err` is the answer for requests that are no API call.
async fn api_request(shared: &Shared, request: Request<Incoming>) -> Result<ApiRequest, Reply> {
    let segments: Vec<&str> = request
        .uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (token, method) = match segments.as_slice() {
        [.., bot, method] if bot.starts_with("bot") => (&bot[3..], method.to_string()),
        _ => return Err(error_reply(404, "Not Found")),
    };
    if token != shared.token {
        return Err(error_reply(401, "Unauthorized"));
    }
    let query = request.uri().query().unwrap_or_default();
    let mut params: Map<String, Value> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let body = Limited::new(request.into_body(), MAX_BODY);
    let mut files = HashMap::new();
    if mime == "multipart/form-data" {
        let boundary = multer::parse_boundary(&content_type).map_err(bad_request)?;
        let multipart = multer::Multipart::new(body.into_data_stream(), boundary);
        files = read_multipart(multipart, &mut params)
            .await
            .map_err(bad_request)?;
    } else {
        let body = body
            .collect()
            .await
            .map_err(|e| bad_request(format!("can't read the body: {e}")))?
            .to_bytes();
        match mime.as_str() {
            _ if body.iter().all(u8::is_ascii_whitespace) => {}
            "application/json" => match serde_json::from_slice(&body) {
                Ok(Value::Object(fields)) => params.extend(fields),
                _ => return Err(bad_request("can't parse JSON object")),
            },
            "application/x-www-form-urlencoded" => params.extend(
                url::form_urlencoded::parse(&body)
                    .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))),
            ),
            _ => {}
        }
    }
    Ok(ApiRequest {
        method,
        params,
        files,
    })
}

/// Text parts become parameters (JSON objects and arrays parsed); parts with a filename become
/// files, and the parameter naming them ("attach://<part>", or the part itself) becomes
/// {"attach": part, "file_name", "size"}.
async fn read_multipart(
    mut multipart: multer::Multipart<'_>,
    params: &mut Map<String, Value>,
) -> Result<HashMap<String, UploadedFile>, multer::Error> {
    let mut files = HashMap::new();
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) => {
                let content_type = field.content_type().map(ToString::to_string);
                let bytes = field.bytes().await?.to_vec();
                let file = UploadedFile {
                    file_name: Some(file_name).filter(|n| !n.is_empty()),
                    content_type,
                    bytes,
                };
                files.insert(name, file);
            }
            None => {
                let text = field.text().await?;
                // teloxide sends nested objects (reply_markup, ...) as JSON text.
                let structured = text.trim_start().starts_with(['{', '[']);
                let parsed = structured
                    .then(|| serde_json::from_str(&text).ok())
                    .flatten();
                params.insert(name, parsed.unwrap_or(Value::String(text)));
            }
        }
    }
    let summary = |part: &str, file: &UploadedFile| {
        let size = file.bytes.len();
        json!({"attach": part, "file_name": file.file_name, "size": size})
    };
    let mut attached = HashSet::new();
    for value in params.values_mut() {
        let part = value
            .as_str()
            .and_then(|s| s.strip_prefix("attach://"))
            .map(str::to_owned);
        if let Some((part, file)) = part.and_then(|p| files.get_key_value(&p)) {
            *value = summary(part, file);
            attached.insert(part.clone());
        }
    }
    for (part, file) in files.iter() {
        if !attached.contains(part) {
            params
                .entry(part.clone())
                .or_insert_with(|| summary(part, file));
        }
    }
    Ok(files)
}
