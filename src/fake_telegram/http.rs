//! A small HTTP/1.1 server for the fake: keep-alive connections, request bodies with
//! Content-Length or chunked (reqwest streams file uploads from disk chunked), parameters as
//! JSON, multipart/form-data or urlencoded; `/bot<token>/<method>` goes to the state.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::json;
use super::state::{ApiRequest, Reply, Shared, UploadedFile};

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Accepts connections until the task is aborted; aborting drops the open connections too.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                connections.spawn(connection(stream, shared.clone()));
            }
            Err(error) => {
                log::warn!("fake Telegram: accept failed: {error}");
                tokio::task::yield_now().await;
            }
        }
    }
}

struct HttpRequest {
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        let mut headers = self.headers.iter();
        headers
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buffer = Vec::new();
    loop {
        let request = match read_request(&mut stream, &mut buffer).await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(error) => {
                let body = json::error(400, &format!("Bad Request: {error}"), None);
                let _ = write_response(&mut stream, 400, &body, true).await;
                return;
            }
        };
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let reply = match api_request(&shared, request) {
            Err(reply) => reply,
            Ok(api) => tokio::select! {
                reply = shared.handle(api) => reply,
                // The client gave up, e.g. a long poll dropped when the dispatcher stops.
                () = closed(&mut stream, &mut buffer) => return,
            },
        };
        let (status, body) = match reply {
            Reply::Ok(result) => (200, json::ok(result)),
            Reply::Error {
                code,
                description,
                retry_after,
            } => (code, json::error(code, &description, retry_after)),
            Reply::Close => return,
        };
        if write_response(&mut stream, status, &body, close)
            .await
            .is_err()
            || close
        {
            return;
        }
    }
}

/// Resolves once the peer closes the connection (bytes it sends meanwhile are kept).
async fn closed(stream: &mut TcpStream, buffer: &mut Vec<u8>) {
    loop {
        match read_more(stream, buffer).await {
            Ok(0) | Err(_) => return,
            Ok(_) if buffer.len() > MAX_HEAD + MAX_BODY => return,
            Ok(_) => {}
        }
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<usize> {
    buffer.reserve(16 * 1024);
    stream.read_buf(buffer).await
}

/// Reads until `buffer` holds at least `n` bytes.
async fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>, n: usize) -> io::Result<()> {
    while buffer.len() < n {
        if read_more(stream, buffer).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}

async fn read_line(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<String> {
    loop {
        if let Some(end) = find(buffer, b"\r\n") {
            let line = String::from_utf8_lossy(&buffer[..end]).into_owned();
            buffer.drain(..end + 2);
            return Ok(line);
        }
        if buffer.len() > MAX_HEAD {
            return Err(invalid("line too long"));
        }
        if read_more(stream, buffer).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}

/// The next request on the connection, or `None` when the peer closed it between requests.
async fn read_request(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> io::Result<Option<HttpRequest>> {
    let head_end = loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > MAX_HEAD {
            return Err(invalid("request head too large"));
        }
        if read_more(stream, buffer).await? == 0 {
            return match buffer.is_empty() {
                true => Ok(None),
                false => Err(io::ErrorKind::UnexpectedEof.into()),
            };
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    buffer.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let target = request_line
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| invalid("bad request line"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let mut request = HttpRequest {
        target: target.to_owned(),
        headers,
        body: Vec::new(),
    };
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        request.body = read_chunked(stream, buffer).await?;
    } else {
        let length = match request.header("content-length") {
            Some(value) => value.parse().map_err(|_| invalid("bad Content-Length"))?,
            None => 0,
        };
        if length > MAX_BODY {
            return Err(invalid("body too large"));
        }
        fill(stream, buffer, length).await?;
        request.body = buffer.drain(..length).collect();
    }
    Ok(Some(request))
}

async fn read_chunked(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream, buffer).await?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid("bad chunk size"))?;
        if size == 0 {
            // Trailer fields up to the empty line.
            while !read_line(stream, buffer).await?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid("body too large"));
        }
        fill(stream, buffer, size + 2).await?;
        body.extend(buffer.drain(..size));
        buffer.drain(..2);
    }
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    body: &Value,
    close: bool,
) -> io::Result<()> {
    let body = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Error",
    };
    let connection = if close { "close" } else { "keep-alive" };
    let length = body.len();
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\nConnection: {connection}\r\n\r\n"
    )
    .into_bytes();
    response.extend_from_slice(body.as_bytes());
    stream.write_all(&response).await?;
    stream.flush().await
}

fn error_reply(code: u16, description: &str) -> Reply {
    Reply::Error {
        code,
        description: description.to_owned(),
        retry_after: None,
    }
}

/// Routes and decodes a request; `Err` is the answer for requests that are no API call.
fn api_request(shared: &Shared, request: HttpRequest) -> Result<ApiRequest, Reply> {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (token, method) = match segments.as_slice() {
        [.., bot, method] if bot.starts_with("bot") => (percent_decode(&bot[3..]), *method),
        _ => return Err(error_reply(404, "Not Found")),
    };
    if token != shared.token {
        return Err(error_reply(401, "Unauthorized"));
    }
    let mut params: Map<String, Value> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    let mut files = HashMap::new();
    let content_type = request.header("content-type").unwrap_or_default();
    let mut attributes = content_type.split(';');
    let mime = attributes
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let boundary = attributes
        .filter_map(|a| a.trim().split_once('='))
        .find(|(key, _)| key.eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim_matches('"').to_owned());
    let body = &request.body;
    match mime.as_str() {
        _ if body.iter().all(u8::is_ascii_whitespace) => {}
        "application/json" => match serde_json::from_slice(body) {
            Ok(Value::Object(fields)) => params.extend(fields),
            _ => return Err(error_reply(400, "Bad Request: can't parse JSON object")),
        },
        "multipart/form-data" => {
            let boundary =
                boundary.ok_or_else(|| error_reply(400, "Bad Request: no multipart boundary"))?;
            parse_multipart(body, &boundary, &mut params, &mut files)
                .map_err(|what| error_reply(400, &format!("Bad Request: {what}")))?;
        }
        "application/x-www-form-urlencoded" => params.extend(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))),
        ),
        _ => {}
    }
    Ok(ApiRequest {
        method: method.to_owned(),
        params,
        files,
    })
}

/// Text parts become parameters (JSON objects and arrays parsed); parts with a filename become
/// files, and the parameter naming them ("attach://<part>", or the part itself) becomes
/// {"attach": part, "file_name", "size"}.
fn parse_multipart(
    body: &[u8],
    boundary: &str,
    params: &mut Map<String, Value>,
    files: &mut HashMap<String, UploadedFile>,
) -> Result<(), &'static str> {
    let first = format!("--{boundary}");
    let next = format!("\r\n--{boundary}");
    let mut at = find(body, first.as_bytes()).ok_or("multipart boundary not found")? + first.len();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            break;
        }
        if !rest.starts_with(b"\r\n") {
            return Err("malformed multipart body");
        }
        let head_start = at + 2;
        let head_end = head_start
            + find(&body[head_start..], b"\r\n\r\n").ok_or("malformed multipart part")?;
        let content_start = head_end + 4;
        let content_end = content_start
            + find(&body[content_start..], next.as_bytes()).ok_or("unterminated multipart part")?;
        at = content_end + next.len();

        let head = String::from_utf8_lossy(&body[head_start..head_end]);
        let (mut name, mut file_name, mut content_type) = (None, None, None);
        for line in head.split("\r\n") {
            let Some((header, value)) = line.split_once(':') else {
                continue;
            };
            if header.trim().eq_ignore_ascii_case("content-disposition") {
                for (key, value) in disposition_params(value) {
                    match key.as_str() {
                        "name" => name = Some(value),
                        "name*" => {
                            name = Some(percent_decode(
                                value.rsplit("''").next().unwrap_or_default(),
                            ))
                        }
                        "filename" => file_name = Some(value),
                        _ => {}
                    }
                }
            } else if header.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_owned());
            }
        }
        let name = name.ok_or("multipart part without a name")?;
        let content = &body[content_start..content_end];
        match file_name {
            Some(file_name) => {
                let file = UploadedFile {
                    file_name: Some(file_name).filter(|n| !n.is_empty()),
                    content_type,
                    bytes: content.to_vec(),
                };
                files.insert(name, file);
            }
            None => {
                let text = String::from_utf8_lossy(content).into_owned();
                // teloxide sends nested objects (reply_markup, ...) as JSON text.
                let structured = text.trim_start().starts_with(['{', '[']);
                let parsed = structured
                    .then(|| serde_json::from_str(&text).ok())
                    .flatten();
                let value = parsed.unwrap_or(Value::String(text));
                params.insert(name, value);
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
    Ok(())
}

/// The `key=value` / `key="quoted \"value\""` pairs after "form-data" in Content-Disposition.
fn disposition_params(header: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = header.chars().skip_while(|&c| c != ';').skip(1).peekable();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() {
            return params;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
            chars.by_ref().take_while(|&c| c != ';').for_each(drop);
        } else {
            value = chars
                .by_ref()
                .take_while(|&c| c != ';')
                .collect::<String>()
                .trim()
                .to_owned();
        }
        params.push((key, value));
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) if bytes[i] == b'%' => {
                decoded.push(byte);
                i += 3;
            }
            _ => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
