//! Sorting by a list of flow references without writing them out at every comparison.
//!
//! A [`FlowRef`] orders as its written form does (`proto client server first_ts`), so comparing
//! two of them formats both; a sort of calls or events that falls back on their flows on a tie
//! did that O(n log n) times, a tenth of `onlooker events` on a large capture. Here each list is
//! written at most once, when its item ties with another on what is compared first, and the
//! sort gives the very order `sort_by` with `Vec<FlowRef>::cmp` gives. It must never change
//! that order: the outputs' event ids and tie-breaks rest on it.

use std::cell::OnceCell;
use std::cmp::Ordering;

use crate::model::FlowRef;

/// Sort `items` stably by `first`, then by their flows (`flows`) as `Vec<FlowRef>` orders them.
pub(super) fn sort_then_by_flows<T>(
    items: &mut Vec<T>,
    flows: impl Fn(&T) -> &[FlowRef],
    first: impl Fn(&T, &T) -> Ordering,
) {
    if items.len() < 2 {
        return;
    }
    // Each reference written at most once, and only for items that tie on `first`; equal
    // texts are equal references (`FlowRef`'s `Eq` and `Ord` agree with its text), so
    // comparing the texts is comparing the references.
    let keys: Vec<OnceCell<Vec<String>>> = items.iter().map(|_| OnceCell::new()).collect();
    let key = |i: usize| -> &[String] {
        keys[i].get_or_init(|| flows(&items[i]).iter().map(ToString::to_string).collect())
    };
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| first(&items[a], &items[b]).then_with(|| key(a).cmp(key(b))));
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Proto;

    fn r(client: &str, server: &str, ts: f64) -> Option<FlowRef> {
        Some(FlowRef {
            proto: Proto::UDP,
            client: client.parse().ok()?,
            server: server.parse().ok()?,
            first_ts: ts,
        })
    }

    /// The same order as `sort_by` on the references themselves, ties and all, on lists
    /// whose texts and numbers disagree (port 9 after port 10 as text, 10.0.0.10 before
    /// 10.0.0.9) and that share a prefix.
    #[test]
    fn same_order_as_comparing_references() -> Result<(), String> {
        let refs = [
            r("10.0.0.9:10", "1.1.1.1:3478", 5.0),
            r("10.0.0.9:9", "1.1.1.1:3478", 5.0),
            r("10.0.0.10:9", "1.1.1.1:3478", 5.0),
            r("10.0.0.9:10", "1.1.1.1:3478", 5.000_000_4),
            r("10.0.0.9:10", "1.1.1.1:3478", 15.0),
            r("[::1]:9", "[2001:db8::1]:443", 1.0),
        ];
        let refs: Vec<FlowRef> = refs.into_iter().collect::<Option<_>>().ok_or("parse")?;
        // (group, flows, tag): the tag tells equal items apart after the sort.
        let mut items: Vec<(u8, Vec<FlowRef>, usize)> = Vec::new();
        for (i, a) in refs.iter().enumerate() {
            items.push((u8::from(i % 2 == 0), vec![*a], items.len()));
            for b in &refs {
                items.push((0, vec![*a, *b], items.len()));
            }
        }
        items.push((0, Vec::new(), items.len()));
        items.push((0, vec![refs[0]], items.len()));
        let mut expected = items.clone();
        expected.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut got = items;
        sort_then_by_flows(&mut got, |t| &t.1, |a, b| a.0.cmp(&b.0));
        let tags = |v: &[(u8, Vec<FlowRef>, usize)]| v.iter().map(|t| t.2).collect::<Vec<_>>();
        assert_eq!(tags(&got), tags(&expected));
        Ok(())
    }
}
