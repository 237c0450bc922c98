//! The keep-alive HTTP/1.1 load generator shared by the load benchmarks: N connections send
//! requests back to back for a while; the answer statuses and latencies are collected.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Reads one HTTP/1.1 response; returns its status.
pub async fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<u16> {
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    Ok(status)
}

/// What a load run measured.
pub struct Outcome {
    /// Answers with the expected status.
    pub ok: u64,
    /// Any other answer.
    pub other: u64,
    /// Every latency, sorted.
    pub latencies: Vec<Duration>,
    /// The run's length.
    pub elapsed: Duration,
}

/// Runs `connections` connections for `seconds`; `request(connection, n)` makes each request.
pub async fn load<F>(
    addr: String,
    connections: usize,
    seconds: u64,
    expect: u16,
    request: F,
) -> Outcome
where
    F: Fn(usize, u64) -> Vec<u8> + Send + Sync + 'static,
{
    load_spread(vec![addr], connections, seconds, expect, request).await
}

/// As [`load`], with connection `c` sent to `addrs[c % addrs.len()]` (several replicas).
#[allow(dead_code)] // not every bench that shares this file spreads its load
pub async fn load_spread<F>(
    addrs: Vec<String>,
    connections: usize,
    seconds: u64,
    expect: u16,
    request: F,
) -> Outcome
where
    F: Fn(usize, u64) -> Vec<u8> + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let addr = addrs[c % addrs.len()].clone();
        let (request, stop) = (request.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(&addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut reader = BufReader::new(stream);
            let (mut ok, mut other, mut latencies) = (0u64, 0u64, Vec::new());
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let req = request(c, n);
                n += 1;
                let t = Instant::now();
                reader.get_mut().write_all(&req).await.unwrap();
                let status = read_response(&mut reader).await.unwrap();
                latencies.push(t.elapsed());
                if status == expect {
                    ok += 1;
                } else {
                    other += 1;
                }
            }
            (ok, other, latencies)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut out = Outcome {
        ok: 0,
        other: 0,
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for t in tasks {
        let (ok, other, lat) = t.await.unwrap();
        out.ok += ok;
        out.other += other;
        out.latencies.extend(lat);
    }
    out.elapsed = started.elapsed();
    out.latencies.sort();
    out
}

/// The `p` quantile of sorted latencies.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Prints a table row for a run; returns its rate per second.
pub fn report(name: &str, r: &Outcome) -> f64 {
    let rate = r.ok as f64 / r.elapsed.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "| {name} | {} | {} | {:.0}/s | {:.2} ms | {:.2} ms | {:.2} ms |",
        r.ok,
        r.other,
        rate,
        ms(percentile(&r.latencies, 0.5)),
        ms(percentile(&r.latencies, 0.99)),
        ms(r.latencies.last().copied().unwrap_or_default()),
    );
    rate
}
