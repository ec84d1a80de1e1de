//! Connection-level faults. [`FaultyListener`] wraps each accepted socket in a [`FaultyIo`]
//! with a [`ConnSwitch`] that handlers reach through `ConnectInfo<ConnSwitch>`. Tripping the
//! switch makes every later write fail, so hyper drops the connection without writing the
//! answer: [`Cut::Close`] closes it normally (FIN), [`Cut::Reset`] sets a zero linger first so
//! the close is a TCP reset (RST). Either way the client never sees a status line.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How a tripped connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Closed without an answer (FIN).
    Close,
    /// Reset (RST).
    Reset,
}

/// The per-connection switch a handler trips to cut its connection.
#[derive(Debug, Clone, Default)]
pub struct ConnSwitch(Arc<AtomicU8>);

/// A TCP listener whose connections carry a [`ConnSwitch`].
#[derive(Debug)]
pub struct FaultyListener(pub TcpListener);

/// A TCP stream that fails every write once its switch is tripped.
#[derive(Debug)]
pub struct FaultyIo {
    stream: TcpStream,
    switch: ConnSwitch,
}

const OPEN: u8 = 0;
const CLOSE: u8 = 1;
const RESET: u8 = 2;

impl ConnSwitch {
    /// Cuts the connection: nothing more is written to it.
    pub fn trip(&self, cut: Cut) {
        let state = match cut {
            Cut::Close => CLOSE,
            Cut::Reset => RESET,
        };
        self.0.store(state, Ordering::SeqCst);
    }

    fn state(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Listener for FaultyListener {
    type Io = FaultyIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        let io = FaultyIo {
            stream,
            switch: ConnSwitch::default(),
        };
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, FaultyListener>> for ConnSwitch {
    fn connect_info(stream: IncomingStream<'_, FaultyListener>) -> Self {
        stream.io().switch.clone()
    }
}

impl FaultyIo {
    /// `Some(error)` once the switch is tripped (after arranging a reset when asked).
    fn cut(&self) -> Option<io::Error> {
        match self.switch.state() {
            OPEN => None,
            state => {
                if state == RESET {
                    // Best effort: without it the close is a FIN, still no answer.
                    let _ = self.stream.set_zero_linger();
                }
                Some(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "sandbox fault: connection cut",
                ))
            }
        }
    }
}

impl AsyncRead for FaultyIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultyIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(err) = self.cut() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(err) = self.cut() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.cut() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
