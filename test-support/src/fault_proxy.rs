//! A TCP proxy a test can cut, stall, freeze and restore, to take
//! PostgreSQL, Redis or RabbitMQ away from one application without touching
//! the shared server.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::AbortHandle,
};

pub struct FaultProxy {
    pub port: u16,
    cut: Arc<AtomicBool>,
    stalled: Arc<AtomicBool>,
    /// Connections accepted while stalled: open, never answered.
    held: Arc<Mutex<Vec<TcpStream>>>,
    frozen: watch::Sender<bool>,
    /// Holds back what the server sends (its answers), not what it gets.
    deaf: watch::Sender<bool>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl FaultProxy {
    /// Starts forwarding 127.0.0.1:<random port> to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let cut = Arc::new(AtomicBool::new(false));
        let stalled = Arc::new(AtomicBool::new(false));
        let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (frozen, _) = watch::channel(false);
        let (deaf, _) = watch::channel(false);
        let links: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let accept = {
            let (cut, stalled, held, links, frozen, deaf) = (
                cut.clone(),
                stalled.clone(),
                held.clone(),
                links.clone(),
                frozen.clone(),
                deaf.clone(),
            );
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        drop(client); // refused: connection closed at once
                        continue;
                    }
                    if stalled.load(Ordering::SeqCst) {
                        held.lock().expect("held").push(client);
                        continue;
                    }
                    let link = tokio::spawn(forward(
                        client,
                        target,
                        frozen.subscribe(),
                        deaf.subscribe(),
                    ));
                    links.lock().expect("links").push(link.abort_handle());
                }
            })
            .abort_handle()
        };
        Self {
            port,
            cut,
            stalled,
            held,
            frozen,
            deaf,
            links,
            accept,
        }
    }

    /// A hung server: drops every open connection, then accepts new ones
    /// and never answers on them.
    pub fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
        self.stalled.store(false, Ordering::SeqCst);
        self.held.lock().expect("held").clear();
        self.frozen.send_replace(false);
        self.deaf.send_replace(false);
    }

    /// Holds back everything the app sends (an ack that must never reach
    /// the broker, say); the server's side still flows.
    pub fn freeze_upstream(&self) {
        self.frozen.send_replace(true);
    }

    /// Holds back the server's answers (a call runs, its reply never comes
    /// until [`Self::restore`]); what the app sends still flows.
    pub fn freeze_downstream(&self) {
        self.deaf.send_replace(true);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn forward(
    client: TcpStream,
    target: SocketAddr,
    frozen: watch::Receiver<bool>,
    deaf: watch::Receiver<bool>,
) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut from_app, mut to_app) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    tokio::select! {
        () = pass(&mut from_app, &mut to_server, frozen) => {}
        () = pass(&mut from_server, &mut to_app, deaf) => {}
    }
}

/// Copies one direction, holding it while `held` says so.
async fn pass(
    from: &mut (impl AsyncReadExt + Unpin),
    to: &mut (impl AsyncWriteExt + Unpin),
    mut held: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if held.wait_for(|h| !*h).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
