//! A TCP proxy between the service and PostgreSQL that can lose the answer to a commit: while
//! armed, every `COMMIT` a connection sends reaches the server, and when the server answers
//! (the transaction is committed and flushed) the proxy cuts the connection instead of passing
//! the answer on — the service cannot know whether its commit happened.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone)]
pub struct CommitCutter {
    pub addr: SocketAddr,
    armed: Arc<AtomicBool>,
    cuts: Arc<AtomicUsize>,
}

/// The protocol 3.0 startup message's code; `SSLRequest` and `GSSENCRequest` come before it.
const STARTUP: u32 = 196_608;

impl CommitCutter {
    pub async fn start(upstream: SocketAddr) -> CommitCutter {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let cutter = CommitCutter {
            addr: listener.local_addr().unwrap(),
            armed: Arc::default(),
            cuts: Arc::default(),
        };
        let c = cutter.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(handle(client, upstream, c.clone()));
            }
        });
        cutter
    }

    /// From now on, every commit's answer is lost.
    pub fn arm(&self) {
        self.armed.store(true, SeqCst);
    }

    pub fn disarm(&self) {
        self.armed.store(false, SeqCst);
    }

    /// Commits whose answer was lost so far.
    pub fn cuts(&self) -> usize {
        self.cuts.load(SeqCst)
    }
}

async fn handle(client: TcpStream, upstream: SocketAddr, c: CommitCutter) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let committing = Arc::new(AtomicBool::new(false));
    let up = tokio::spawn(to_server(cr, sw, c.armed.clone(), committing.clone()));
    to_client(sr, cw, &committing, &c.cuts).await;
    up.abort();
    // Both halves of both connections are dropped here: both are closed.
}

/// Passes the client's messages on; marks the connection when an armed `COMMIT` goes through.
async fn to_server(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    armed: Arc<AtomicBool>,
    committing: Arc<AtomicBool>,
) {
    // Untyped messages (length, then body) up to and including the startup message.
    loop {
        let mut len = [0u8; 4];
        if from.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
        if from.read_exact(&mut body).await.is_err()
            || to.write_all(&len).await.is_err()
            || to.write_all(&body).await.is_err()
        {
            return;
        }
        if body.len() >= 4 && u32::from_be_bytes(body[..4].try_into().unwrap()) == STARTUP {
            break;
        }
    }
    // Typed messages: a type byte, a length, a body.
    loop {
        let mut head = [0u8; 5];
        if from.read_exact(&mut head).await.is_err() {
            return;
        }
        let len = u32::from_be_bytes(head[1..].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len.saturating_sub(4)];
        if from.read_exact(&mut body).await.is_err() {
            return;
        }
        // sqlx commits with a simple query.
        if head[0] == b'Q' && body.to_ascii_uppercase().starts_with(b"COMMIT") && armed.load(SeqCst)
        {
            committing.store(true, SeqCst);
        }
        if to.write_all(&head).await.is_err() || to.write_all(&body).await.is_err() {
            return;
        }
    }
}

/// Passes the server's answers on, except the answer to a marked `COMMIT`: then it cuts.
async fn to_client(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    committing: &AtomicBool,
    cuts: &AtomicUsize,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(k) => {
                // The client sends its COMMIT only after every earlier answer arrived, so what
                // comes once it is marked is the COMMIT's answer.
                if committing.load(SeqCst) {
                    cuts.fetch_add(1, SeqCst);
                    return;
                }
                if to.write_all(&buf[..k]).await.is_err() {
                    return;
                }
            }
        }
    }
}
