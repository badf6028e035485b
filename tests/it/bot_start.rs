//! The binary with no command prepares the database (startup steps 1-7) and then serves the
//! bot, here against a minimal fake Bot API on 127.0.0.1 (TELOXIDE_API_URL): an old database
//! is adopted before the first update is answered, and /start gets its reply.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

const CHAT_ID: i64 = 100000005;

/// Requests received by the fake API: (method, body).
type Log = Arc<Mutex<Vec<(String, String)>>>;

fn serve(listener: TcpListener, log: Log) {
    for stream in listener.incoming().flatten() {
        let log = log.clone();
        thread::spawn(move || handle(stream, log));
    }
}

fn handle(stream: TcpStream, log: Log) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        // teloxide spells methods "GetMe", the Bot API "getMe": compare case-insensitively.
        let method = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
        let body = String::from_utf8_lossy(&body).into_owned();
        let result = respond(&method, &log);
        log.lock().unwrap().push((method, body));
        let payload = format!("{{\"ok\":true,\"result\":{result}}}");
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
            payload.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn respond(method: &str, log: &Log) -> String {
    let user = format!(r#"{{"id":{CHAT_ID},"is_bot":false,"first_name":"Пётр"}}"#);
    let chat = format!(r#"{{"id":{CHAT_ID},"type":"private","first_name":"Пётр"}}"#);
    match method {
        "getme" => r#"{"id":1,"is_bot":true,"first_name":"Repair","username":"repair_test_bot","can_join_groups":true,"can_read_all_group_messages":false,"supports_inline_queries":false,"can_connect_to_business":false,"has_main_web_app":false}"#.to_string(),
        "getupdates" => {
            let served = log.lock().unwrap().iter().any(|(m, _)| m == "getupdates");
            if served {
                thread::sleep(Duration::from_millis(200));
                "[]".to_string()
            } else {
                format!(
                    r#"[{{"update_id":1,"message":{{"message_id":1,"date":1700000000,"chat":{chat},"from":{user},"text":"/start","entities":[{{"type":"bot_command","offset":0,"length":6}}]}}}}]"#
                )
            }
        }
        "sendmessage" => format!(r#"{{"message_id":2,"date":1700000001,"chat":{chat},"text":"ok"}}"#),
        "getwebhookinfo" => r#"{"url":"","has_custom_certificate":false,"pending_update_count":0}"#.to_string(),
        _ => "true".to_string(),
    }
}

#[test]
fn bot_adopts_the_old_database_then_answers_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot_database.db");
    let legacy = include_str!("../fixtures/legacy/C.sql");
    SqliteConnection::establish(db.to_str().unwrap())
        .unwrap()
        .batch_execute(legacy)
        .unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let log: Log = Arc::default();
    let server_log = log.clone();
    thread::spawn(move || serve(listener, server_log));

    // A clean environment with the job settings spelled out: the adopted fixture holds old
    // ASSIGNED orders, so at most hours reminders go out too, and nothing else may depend on
    // the hour the test runs at (replies are matched by chat below).
    let mut child = Command::new(env!("CARGO_BIN_EXE_repair-bot"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("BACKUP_TIME", "off")
        .env("DAILY_SUMMARY_TIME", "off")
        .env("TIMEZONE", "Europe/Moscow")
        .env("DATABASE_URL", &db)
        .env("BACKUP_DIR", dir.path().join("backup"))
        .env("BOT_TOKEN", "123456:TEST")
        .env("TELOXIDE_API_URL", format!("http://{address}/"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let to_newcomer = |body: &str| {
        serde_json::from_str::<serde_json::Value>(body)
            .is_ok_and(|json| json["chat_id"].as_i64() == Some(CHAT_ID))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let reply = loop {
        let sent = log
            .lock()
            .unwrap()
            .iter()
            .find(|(m, body)| m == "sendmessage" && to_newcomer(body))
            .cloned();
        if let Some((_, body)) = sent {
            break body;
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!(
                "no reply to /start; requests: {:?}\nbot log:\n{stderr}",
                log.lock().unwrap()
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    // SIGTERM: the bot finishes what is in flight and exits cleanly.
    // SAFETY: signalling our own child process by its id.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the bot did not stop on SIGTERM");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let mut log_text = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log_text)
        .unwrap();
    assert!(status.success(), "exit {status:?}\n{log_text}");
    assert!(log_text.contains("bot stopped"), "{log_text}");
    let methods: Vec<String> = log.lock().unwrap().iter().map(|(m, _)| m.clone()).collect();
    assert!(
        methods.contains(&"setmycommands".to_string()),
        "{methods:?}"
    );
    assert!(
        !log_text.contains("123456:TEST"),
        "the token leaked into the log"
    );
    assert!(
        !log_text.contains("+7916") && !log_text.contains("+7903"),
        "a client phone leaked into the log"
    );

    assert!(reply.contains(&format!("\"chat_id\":{CHAT_ID}")), "{reply}");
    assert!(
        reply.contains(&format!("Telegram id: <code>{CHAT_ID}</code>")),
        "{reply}"
    );
    let mut conn = SqliteConnection::establish(db.to_str().unwrap()).unwrap();
    let state = repair_bot::db::migrations::read_state(&mut conn).unwrap();
    let catalog = repair_bot::db::migrations::Catalog::embedded();
    assert!(
        state.compare(&catalog).pending.is_empty(),
        "bot served an unmigrated database"
    );
    let backups: Vec<String> = std::fs::read_dir(dir.path().join("backup"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        backups
            .iter()
            .filter(|name| name.contains("pre-migrate"))
            .count(),
        1,
        "one pre-migrate backup before adoption: {backups:?}"
    );
    assert_eq!(backups.len(), 1, "no other backup: {backups:?}");
}
