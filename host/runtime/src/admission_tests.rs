//! Admission counted slot by slot: futures polled by hand, no executor, no clock.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::*;

type Admit = Pin<Box<dyn Future<Output = Admitted> + Send>>;

fn admit(admission: &Admission, plugin: &str) -> Admit {
    Box::pin(admission.admit(plugin))
}

fn poll(future: &mut Admit) -> Option<Admitted> {
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(admitted) => Some(admitted),
        Poll::Pending => None,
    }
}

fn admitted(admission: &Admission, plugin: &str) -> Admitted {
    poll(&mut admit(admission, plugin)).expect("a free slot")
}

#[test]
fn a_plugin_holding_its_share_lets_another_plugins_run_go_first() {
    let admission = Admission::new(4);
    assert_eq!(admission.share(), 2);
    let mut hostile: Vec<_> = (0..4).map(|_| admitted(&admission, "hostile")).collect();
    let mut queued_hostile = admit(&admission, "hostile");
    let mut healthy = admit(&admission, "healthy");
    assert!(poll(&mut queued_hostile).is_none());
    assert!(poll(&mut healthy).is_none());
    hostile.pop();
    let healthy = poll(&mut healthy).expect("the healthy run takes the freed slot");
    assert!(poll(&mut queued_hostile).is_none(), "hostile holds 3 of 4");
    hostile.pop();
    hostile.pop();
    let _requeued = poll(&mut queued_hostile).expect("no one else waits");
    drop(healthy);
    assert_eq!(admission.running(), 2);
    assert_eq!(admission.peak(), 4);
}

#[test]
fn a_plugin_alone_uses_every_slot_in_arrival_order() {
    let admission = Admission::new(2);
    let first = admitted(&admission, "a");
    let _second = admitted(&admission, "a");
    let mut third = admit(&admission, "a");
    let mut fourth = admit(&admission, "a");
    assert!(poll(&mut third).is_none());
    drop(first);
    assert!(poll(&mut fourth).is_none(), "first come, first served");
    let _third = poll(&mut third).expect("the freed slot");
    assert_eq!(admission.running(), 2);
}

#[test]
fn below_share_plugins_are_served_in_arrival_order() {
    let admission = Admission::new(4);
    let held: Vec<_> = (0..4).map(|_| admitted(&admission, "a")).collect();
    let mut b = admit(&admission, "b");
    let mut c = admit(&admission, "c");
    assert!(poll(&mut b).is_none() && poll(&mut c).is_none());
    drop(held);
    assert!(poll(&mut b).is_some() && poll(&mut c).is_some());
}

#[test]
fn a_waiter_that_gives_up_passes_its_slot_on() {
    let admission = Admission::new(1);
    let only = admitted(&admission, "a");
    let gives_up = admit(&admission, "b");
    let mut next = admit(&admission, "c");
    assert_eq!(admission.waiting(), 2);
    drop(gives_up);
    drop(only);
    assert!(poll(&mut next).is_some());
    assert_eq!(admission.waiting(), 0);
}

#[test]
fn a_slot_granted_to_a_dropped_waiter_is_not_lost() {
    let admission = Admission::new(1);
    let only = admitted(&admission, "a");
    let mut granted_then_dropped = admit(&admission, "b");
    assert!(poll(&mut granted_then_dropped).is_none());
    drop(only);
    drop(granted_then_dropped);
    assert_eq!(admission.running(), 0);
    assert!(poll(&mut admit(&admission, "c")).is_some());
}

#[test]
fn one_slot_is_a_share_of_one() {
    let admission = Admission::new(1);
    assert_eq!(admission.share(), 1);
    let _a = admitted(&admission, "a");
    assert!(poll(&mut admit(&admission, "a")).is_none());
}
