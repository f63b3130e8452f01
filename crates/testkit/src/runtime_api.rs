//! A Lambda Runtime API on loopback, and the shipped `bootstrap` binary run
//! against it: the same binary that ships, handed events the way Lambda hands
//! them (request id, deadline, function ARN, X-Ray trace header), with what it
//! reports and prints collected for the tests and the benchmark.

use serde_json::Value;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the function reported for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Reported {
    /// `POST /invocation/{id}/response`.
    Response(Value),
    /// `POST /invocation/{id}/error` (or `/init/error`).
    Error(Value),
}

/// One finished invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub reported: Reported,
    /// From handing the event out (the `/next` response) to the report.
    pub elapsed: Duration,
}

/// An event to deliver: its payload, time budget and X-Ray trace header.
struct Delivery {
    event: Value,
    timeout: Duration,
    trace_header: String,
}

struct Report {
    request_id: String,
    reported: Reported,
    sent_at: Option<Instant>,
    received_at: Instant,
}

/// A minimal Lambda Runtime API on a loopback port: `/next` blocks until an
/// event is queued; `/response` and `/error` posts are collected.
pub struct RuntimeApi {
    address: String,
    deliveries: Sender<Delivery>,
    reports: Receiver<Report>,
    next_requests: Receiver<Instant>,
}

impl RuntimeApi {
    pub fn start() -> io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let (deliveries, queue) = channel::<Delivery>();
        let (report_tx, reports) = channel();
        let (next_tx, next_requests) = channel();
        let queue = Arc::new(Mutex::new(queue));
        let sent_at = Arc::new(Mutex::new(std::collections::HashMap::new()));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let connection = Connection {
                    queue: Arc::clone(&queue),
                    reports: report_tx.clone(),
                    next_requests: next_tx.clone(),
                    sent_at: Arc::clone(&sent_at),
                };
                std::thread::spawn(move || connection.serve(stream));
            }
        });
        Ok(RuntimeApi {
            address,
            deliveries,
            reports,
            next_requests,
        })
    }

    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Waits for the function's next `GET /invocation/next` (the end of its
    /// init, the first time) and returns when it arrived.
    pub fn wait_for_next(&self, timeout: Duration) -> Option<Instant> {
        self.next_requests.recv_timeout(timeout).ok()
    }

    /// Delivers `event` with `timeout` as the function's time budget and a
    /// fresh sampled trace header, then waits for the report.
    pub fn invoke(&self, event: Value, timeout: Duration) -> io::Result<Invocation> {
        self.invoke_traced(event, timeout, &trace_header(true))
    }

    /// Same, with the given `Lambda-Runtime-Trace-Id`.
    pub fn invoke_traced(
        &self,
        event: Value,
        timeout: Duration,
        trace_header: &str,
    ) -> io::Result<Invocation> {
        let gone = || io::Error::new(io::ErrorKind::BrokenPipe, "the Runtime API stopped");
        self.deliveries
            .send(Delivery {
                event,
                timeout,
                trace_header: trace_header.to_owned(),
            })
            .map_err(|_| gone())?;
        // The function has the whole timeout, plus time to start and report.
        let report = self
            .reports
            .recv_timeout(timeout + Duration::from_secs(30))
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the function reported nothing (did it crash? see its output)",
                )
            })?;
        let elapsed = report
            .sent_at
            .map_or(Duration::ZERO, |sent| report.received_at - sent);
        Ok(Invocation {
            request_id: report.request_id,
            reported: report.reported,
            elapsed,
        })
    }
}

struct Connection {
    queue: Arc<Mutex<Receiver<Delivery>>>,
    reports: Sender<Report>,
    next_requests: Sender<Instant>,
    sent_at: Arc<Mutex<std::collections::HashMap<String, Instant>>>,
}

impl Connection {
    fn serve(self, stream: TcpStream) {
        // Each reply goes out in one write, without waiting for an ACK (Nagle
        // would add ~40 ms to every invocation and pollute the benchmark).
        let _ = stream.set_nodelay(true);
        let Ok(mut writer) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(stream);
        while let Some((method, path, body)) = read_request(&mut reader) {
            let written = if method == "GET" && path.ends_with("/invocation/next") {
                let _ = self.next_requests.send(Instant::now());
                let delivery = match self.queue.lock() {
                    Ok(queue) => queue.recv(),
                    Err(_) => return,
                };
                let Ok(delivery) = delivery else { return };
                self.hand_out(&mut writer, delivery)
            } else {
                self.collect(&path, &body);
                writer.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
            };
            if written.and_then(|()| writer.flush()).is_err() {
                return;
            }
        }
    }

    fn hand_out(&self, writer: &mut TcpStream, delivery: Delivery) -> io::Result<()> {
        let id = format!("{:016x}-{:08x}", random_u64(), std::process::id());
        let deadline_ms = epoch_ms() + delivery.timeout.as_millis() as u64;
        let body = delivery.event.to_string();
        // Noted before writing: the report may come back on another
        // connection before this thread runs again.
        if let Ok(mut sent) = self.sent_at.lock() {
            sent.insert(id.clone(), Instant::now());
        }
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
             Lambda-Runtime-Aws-Request-Id: {id}\r\n\
             Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
             Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:imgflow\r\n\
             Lambda-Runtime-Trace-Id: {}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            delivery.trace_header,
            body.len()
        );
        writer.write_all(reply.as_bytes())?;
        writer.flush()
    }

    fn collect(&self, path: &str, body: &[u8]) {
        let received_at = Instant::now();
        let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let request_id = path.split('/').rev().nth(1).unwrap_or_default().to_owned();
        let reported = if path.ends_with("/error") {
            Reported::Error(value)
        } else {
            Reported::Response(value)
        };
        let sent_at = self
            .sent_at
            .lock()
            .ok()
            .and_then(|mut sent| sent.remove(&request_id));
        let _ = self.reports.send(Report {
            request_id,
            reported,
            sent_at,
            received_at,
        });
    }
}

/// One HTTP/1.1 request: method, path, body (`Content-Length` framing).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, body))
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// A fresh X-Ray trace header, as Lambda's front end makes them:
/// `Root=1-<epoch seconds, hex>-<96 random bits>;Parent=<64 bits>;Sampled=…`.
pub fn trace_header(sampled: bool) -> String {
    let seconds = epoch_ms() / 1000;
    format!(
        "Root=1-{seconds:08x}-{:08x}{:016x};Parent={:016x};Sampled={}",
        random_u64() as u32,
        random_u64(),
        random_u64(),
        u8::from(sampled)
    )
}

/// The `bootstrap` process, its stdout collected line by line.
pub struct LocalFunction {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    pub started_at: Instant,
}

impl LocalFunction {
    /// Starts `bootstrap` against `api` with the variables Lambda sets, then
    /// `env`, and nothing else from this process's environment.
    pub fn start(
        bootstrap: &Path,
        api: &RuntimeApi,
        env: &[(String, String)],
    ) -> io::Result<LocalFunction> {
        let mut cmd = Command::new(bootstrap);
        cmd.env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .envs([
                ("AWS_LAMBDA_FUNCTION_NAME", "imgflow"),
                ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/imgflow"),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
                ("AWS_LAMBDA_LOG_STREAM_NAME", "local"),
            ]);
        cmd.envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let started_at = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", bootstrap.display())))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            let sink = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Ok(mut lines) = sink.lock() {
                        lines.push(line);
                    }
                }
            });
        }
        Ok(LocalFunction {
            child,
            lines,
            started_at,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every stdout line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Lines printed after the first `from`, waiting up to `settle` for the
    /// function's output of an invocation to arrive through the pipe.
    pub fn lines_since(&self, from: usize, settle: Duration) -> Vec<String> {
        std::thread::sleep(settle);
        self.lines().into_iter().skip(from).collect()
    }

    /// `Some(status)` once the process ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the process to end by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for LocalFunction {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak and current resident memory of a process (Linux `/proc`), KiB.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// CPU time a process has used so far (user + system, Linux `/proc`), ms.
/// `/proc` counts in clock ticks, 100 per second on Linux (`USER_HZ`).
pub fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which ends at the last ')': state is
    // field 3, utime 14 and stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i - 3)?.parse::<u64>().ok();
    Some((ticks(14)? + ticks(15)?) as f64 * 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_grows_while_this_process_works() {
        let me = std::process::id();
        let before = cpu_ms(me).unwrap();
        // Spin until the count moves on by two ticks: on a busy machine a
        // spin of fixed length may get too little of a core to show.
        let given_up = Instant::now() + Duration::from_secs(60);
        while cpu_ms(me).unwrap() < before + 20.0 {
            assert!(Instant::now() < given_up, "no CPU time counted in 60 s");
            let spin = Instant::now();
            while spin.elapsed() < Duration::from_millis(5) {}
        }
        assert_eq!(cpu_ms(u32::MAX), None);
    }

    #[test]
    fn trace_headers_are_fresh_and_well_formed() {
        let a = trace_header(true);
        let b = trace_header(false);
        assert_ne!(a, b);
        assert!(a.ends_with(";Sampled=1") && b.ends_with(";Sampled=0"));
        let (root, rest) = a.split_once(';').unwrap();
        let parts: Vec<&str> = root.trim_start_matches("Root=").split('-').collect();
        assert_eq!(parts.len(), 3, "{a}");
        assert_eq!((parts[0], parts[1].len(), parts[2].len()), ("1", 8, 24));
        assert_eq!(rest.split(';').next().unwrap().len(), "Parent=".len() + 16);
    }
}
