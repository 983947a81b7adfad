//! A TCP proxy between a counter and the service that the test controls: each new connection
//! takes the next fault from a plan (then passes traffic through once the plan is empty).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Traffic passes.
    Pass,
    /// The connection is cut after this many bytes of the request reached the service.
    CutRequest(usize),
    /// The whole request reaches the service; its answer is dropped and the connection cut.
    DropResponse,
    /// Traffic passes after this delay.
    Delay(Duration),
    /// The proxy answers 500 itself; nothing reaches the service.
    Error500,
    /// The request reaches the service and the test is told (to kill the service meanwhile).
    Signal,
}

#[derive(Clone)]
pub struct Proxy {
    pub addr: SocketAddr,
    plan: Arc<Mutex<VecDeque<Fault>>>,
    signal: Arc<tokio::sync::Notify>,
    pub faults_used: Arc<Mutex<Vec<Fault>>>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            plan: Arc::default(),
            signal: Arc::new(tokio::sync::Notify::new()),
            faults_used: Arc::default(),
        };
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let fault = p.plan.lock().unwrap().pop_front().unwrap_or(Fault::Pass);
                p.faults_used.lock().unwrap().push(fault);
                let signal = p.signal.clone();
                tokio::spawn(handle(client, upstream, fault, signal));
            }
        });
        proxy
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn plan(&self, faults: impl IntoIterator<Item = Fault>) {
        let mut p = self.plan.lock().unwrap();
        p.clear();
        p.extend(faults);
    }

    /// Resolves when a `Signal` connection has forwarded its request.
    pub async fn signalled(&self) {
        self.signal.notified().await
    }
}

async fn handle(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: Fault,
    signal: Arc<tokio::sync::Notify>,
) {
    match fault {
        Fault::Error500 => {
            let mut buf = [0u8; 4096];
            let _ = client.read(&mut buf).await;
            let _ = client
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/problem+json\r\ncontent-length: 44\r\nconnection: close\r\n\r\n{\"code\":\"injected\",\"title\":\"proxy fault 500\"}")
                .await;
            return;
        }
        Fault::Delay(d) => tokio::time::sleep(d).await,
        _ => {}
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return; // the service is down: the client sees the connection close
    };
    match fault {
        Fault::Pass | Fault::Delay(_) => {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        }
        Fault::CutRequest(n) => {
            let mut buf = vec![0u8; n.max(1)];
            let mut sent = 0;
            while sent < n {
                // a request shorter than `n` is cut once it stops coming
                let read = tokio::time::timeout(
                    Duration::from_millis(100),
                    client.read(&mut buf[..n - sent]),
                );
                match read.await {
                    Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                    Ok(Ok(k)) => {
                        if server.write_all(&buf[..k]).await.is_err() {
                            break;
                        }
                        sent += k;
                    }
                }
            }
            // both sides closed mid-request
        }
        Fault::Signal => {
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let up = tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut told = false;
                loop {
                    match cr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => {
                            if sw.write_all(&buf[..k]).await.is_err() {
                                break;
                            }
                            if !told {
                                // part of the request is at the service: kill it now
                                signal.notify_one();
                                told = true;
                            }
                        }
                    }
                }
            });
            let _ = tokio::io::copy(&mut sr, &mut cw).await;
            up.abort();
        }
        Fault::DropResponse => {
            let (mut cr, _cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let up = tokio::spawn(async move {
                let _ = tokio::io::copy(&mut cr, &mut sw).await;
            });
            // wait for the first byte of the answer (the service has committed), drop it
            let mut first = [0u8; 1];
            let _ = sr.read(&mut first).await;
            up.abort();
        }
        Fault::Error500 => {}
    }
}
