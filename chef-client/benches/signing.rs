//! Signing throughput per protocol version (`cargo bench -p chef-client --bench signing`).
//!
//! Signs a typical `PUT /organizations/acme/nodes/NAME` with a 1 KiB body using the
//! 2048-bit reference key, for a fixed wall-clock budget per version, and prints
//! signatures per second and the time per signature. Set `CHEF_BENCH_SECS` to change the
//! budget (default 2 s per version).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chef_client::auth::{ProtocolVersion, SigningKey, SigningRequest, sign, timestamp_now};

fn main() {
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/chef/vectors/private_key.pem"
    ))
    .unwrap();
    let key = SigningKey::from_pem(pem).unwrap();
    let budget = Duration::try_from_secs_f64(
        std::env::var("CHEF_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2.0),
    )
    .unwrap_or(Duration::from_secs(2));
    let body = vec![b'x'; 1024];
    let ts = timestamp_now();
    println!(
        "chef-client signing benchmark: RSA-{} key, 1 KiB body, {:.1}s per version",
        key.bits(),
        budget.as_secs_f64()
    );
    for version in ProtocolVersion::ALL {
        // Warm up.
        for _ in 0..20 {
            black_box(sign(&key, &request(version, &body, &ts)).unwrap());
        }
        let started = Instant::now();
        let cpu_start = thread_cpu_ns();
        let mut n: u64 = 0;
        while started.elapsed() < budget {
            black_box(sign(&key, &request(version, &body, &ts)).unwrap());
            n += 1;
        }
        let secs = started.elapsed().as_secs_f64();
        let per_sec = n as f64 / secs;
        println!(
            "protocol {version}: {n:>6} signatures in {secs:.2}s = {per_sec:>7.0}/s wall, {:>7.1} us each, 10,000 nodes in {:.2}s",
            1e6 / per_sec,
            10_000.0 / per_sec
        );
        // On a busy machine wall-clock figures understate the cost; CPU time does not.
        if let (Some(a), Some(b)) = (cpu_start, thread_cpu_ns()) {
            let cpu = (b - a) as f64 / 1e9;
            println!(
                "              CPU time {cpu:.2}s = {:>7.0}/s per core, {:>7.1} us CPU each",
                n as f64 / cpu,
                cpu * 1e6 / n as f64
            );
        }
    }
}

fn request<'a>(version: ProtocolVersion, body: &'a [u8], ts: &'a str) -> SigningRequest<'a> {
    SigningRequest {
        method: "PUT",
        path: "/organizations/acme/nodes/web-0001.example.com",
        body,
        user_id: "deploy",
        timestamp: ts,
        server_api_version: "1",
        version,
    }
}

/// CPU time of this thread in nanoseconds (Linux `/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
