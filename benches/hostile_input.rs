//! Hostile manifests (issue 12 items 3 and 4): how long a reader takes on a small file built to
//! be slow, with the caps (`backline::deps::parse`) and without them (the YAML parser alone, as
//! the pnpm reader called it before the depth pre-scan). Plain timings, one run each.
//!
//! Run: `cargo bench --bench hostile_input`.

use std::time::{Duration, Instant};

fn nested_pnpm_lock(bytes: usize) -> String {
    let depth = bytes / 5;
    format!(
        "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {}{}\n",
        "{a: ".repeat(depth),
        "}".repeat(depth)
    )
}

fn big_property_pom(property_bytes: usize, uses: usize) -> String {
    let mut pom = format!(
        "<project><properties><big>{}</big></properties><dependencies>",
        "x".repeat(property_bytes)
    );
    for i in 0..uses {
        pom.push_str(&format!(
            "<dependency><groupId>g</groupId><artifactId>a{i}</artifactId><version>${{big}}</version></dependency>"
        ));
    }
    pom.push_str("</dependencies></project>");
    pom
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out)
}

fn main() {
    let none = |_: &str| None;
    for kb in [80, 160, 400] {
        let text = nested_pnpm_lock(kb * 1024);
        let (capped, result) =
            timed(|| backline::deps::parse("pnpm-lock.yaml", text.as_bytes(), &none));
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        println!("pnpm-lock.yaml {kb:>3} KB nested: deps::parse {capped:>10.2?} ({message})");
        if kb <= 160 {
            let (raw, _) = timed(|| serde_norway::from_str::<serde_norway::Value>(&text).is_ok());
            println!("pnpm-lock.yaml {kb:>3} KB nested: YAML parser alone {raw:>10.2?}");
        }
    }
    let pom = big_property_pom(1 << 20, 200);
    let (capped, result) = timed(|| backline::deps::parse("pom.xml", pom.as_bytes(), &none));
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    println!("pom.xml 1 MB property x 200 uses: deps::parse {capped:>10.2?} ({message})");
}
