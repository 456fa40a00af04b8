//! A small static file server for `www/` (GET and HEAD only, on loopback), with the MIME types
//! a page with a wasm module needs. Every response has `Cache-Control: no-store` so a rebuilt
//! module is never served stale during development.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Maps a request path to a file under `root`, refusing anything that climbs out of it.
pub fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let path = url_path.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path)?;
    let mut out = root.to_path_buf();
    for c in Path::new(decoded.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Answers one request for a file under `root`, the site living at URL path `prefix` (e.g. "/" or
/// "/lm-playground/": anything outside it is not found, and the prefix without its slash is
/// redirected, as static hosts do).
fn handle(mut stream: TcpStream, root: &Path, prefix: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Drain the headers.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let respond = |stream: &mut TcpStream,
                   status: &str,
                   ctype: &str,
                   body: &[u8],
                   head: bool|
     -> std::io::Result<()> {
        write!(stream, "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n", body.len())?;
        if !head {
            stream.write_all(body)?;
        }
        stream.flush()
    };
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"only GET and HEAD",
            false,
        );
    }
    if prefix.len() > 1 && target == prefix.trim_end_matches('/') {
        write!(stream, "HTTP/1.1 301 Moved Permanently\r\nLocation: {prefix}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return stream.flush();
    }
    match inside(prefix, target)
        .and_then(|rest| resolve(root, rest))
        .and_then(|p| std::fs::read(&p).ok().map(|b| (p, b)))
    {
        Some((p, body)) => respond(&mut stream, "200 OK", mime(&p), &body, method == "HEAD"),
        None => respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"not found",
            method == "HEAD",
        ),
    }
}

/// The part of the request path `target` below the site's `prefix` ("/x" for "/lm-playground/x"),
/// or None when the request is outside it.
fn inside<'a>(prefix: &str, target: &'a str) -> Option<&'a str> {
    target
        .strip_prefix(prefix.trim_end_matches('/'))
        .filter(|rest| rest.starts_with('/'))
}

/// Serves `root` at the URL path `prefix` ("/" for the whole host) until the process ends, one
/// thread per connection.
pub fn serve_forever(listener: TcpListener, root: PathBuf, prefix: &str) {
    let prefix: std::sync::Arc<str> = prefix.into();
    for stream in listener.incoming().flatten() {
        let (root, prefix) = (root.clone(), prefix.clone());
        std::thread::spawn(move || {
            let _ = handle(stream, &root, &prefix);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_stays_inside_the_root() {
        let root = Path::new("/srv/www");
        assert_eq!(
            resolve(root, "/pkg/a.js?x=1"),
            Some(PathBuf::from("/srv/www/pkg/a.js"))
        );
        assert_eq!(
            resolve(root, "/%E4%BD%A0.txt"),
            Some(PathBuf::from("/srv/www/你.txt"))
        );
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/%2e%2e/%2e%2e/etc"), None);
        assert_eq!(mime(Path::new("x.wasm")), "application/wasm");
    }

    #[test]
    fn a_site_under_a_sub_path_sees_only_its_own_requests() {
        assert_eq!(inside("/", "/pkg/a.js"), Some("/pkg/a.js"));
        assert_eq!(inside("/lm/", "/lm/pkg/a.js"), Some("/pkg/a.js"));
        assert_eq!(inside("/lm/", "/lm/"), Some("/"));
        assert_eq!(inside("/lm/", "/pkg/a.js"), None);
        assert_eq!(inside("/lm/", "/lmx/a.js"), None);
    }
}
