//! In-memory search over the orders: customer-name substrings (names are decrypted once, on
//! the first search) and exact phone / e-mail by blind index. Nothing extra is stored on disk,
//! so the file reveals nothing more, and recording an order writes no index pages for search
//! (each B-tree page is a WAL frame at every durable commit). Every write keeps it current.

use pos_domain::OrderId;
use std::collections::HashMap;

/// The first 16 bytes of a blind index: enough to find candidates, which the query then
/// checks against the full stored value.
type Key = [u8; 16];

/// A name as the index compares it: its search words ([`pos_domain::search::name_words`]),
/// space-separated, so a word typed in part still finds it.
fn searchable_name(name: &str) -> String {
    pos_domain::search::name_words(name).join(" ")
}

fn key(blind: &[u8]) -> Key {
    let mut k = [0u8; 16];
    let n = blind.len().min(16);
    k[..n].copy_from_slice(&blind[..n]);
    k
}

/// One order's searchable values.
pub(crate) struct Searchable<'a> {
    pub name: &'a str,
    pub phone_index: Option<&'a [u8]>,
    pub email_index: Option<&'a [u8]>,
}

/// An order as loaded into the index: id, name, phone and e-mail blind indexes.
pub(crate) type IndexRow = (OrderId, String, Option<Vec<u8>>, Option<Vec<u8>>);

#[derive(Debug, Default)]
pub(crate) struct SearchIndex {
    /// Lower-cased names, newest first (ids are UUIDv7, so by id descending).
    names: Vec<(OrderId, String)>,
    phones: HashMap<Key, Vec<OrderId>>,
    emails: HashMap<Key, Vec<OrderId>>,
}

fn remove(map: &mut HashMap<Key, Vec<OrderId>>, blind: Option<&[u8]>, id: OrderId) {
    if let Some(b) = blind {
        let k = key(b);
        if let Some(v) = map.get_mut(&k) {
            v.retain(|x| *x != id);
            if v.is_empty() {
                map.remove(&k);
            }
        }
    }
}

fn add(map: &mut HashMap<Key, Vec<OrderId>>, blind: Option<&[u8]>, id: OrderId) {
    if let Some(b) = blind {
        let v = map.entry(key(b)).or_default();
        if !v.contains(&id) {
            v.push(id);
        }
    }
}

impl SearchIndex {
    pub fn from_rows(rows: Vec<IndexRow>) -> Self {
        let mut ix = SearchIndex {
            names: Vec::with_capacity(rows.len()),
            ..Default::default()
        };
        for (id, name, phone, email) in rows {
            add(&mut ix.phones, phone.as_deref(), id);
            add(&mut ix.emails, email.as_deref(), id);
            ix.names.push((id, searchable_name(&name)));
        }
        ix.names.sort_by_key(|e| std::cmp::Reverse(e.0));
        ix
    }

    /// Records an order's current values, replacing `old` ones (for edits).
    pub fn upsert(&mut self, id: OrderId, old: Option<Searchable<'_>>, new: Searchable<'_>) {
        if let Some(o) = old {
            remove(&mut self.phones, o.phone_index, id);
            remove(&mut self.emails, o.email_index, id);
        }
        add(&mut self.phones, new.phone_index, id);
        add(&mut self.emails, new.email_index, id);
        let name = searchable_name(new.name);
        match self.names.binary_search_by(|e| id.cmp(&e.0)) {
            Ok(i) => self.names[i].1 = name,
            Err(i) => self.names.insert(i, (id, name)),
        }
    }

    /// Orders whose name answers the search `terms` ([`pos_domain::search::query_terms`]),
    /// each word found within the name's words, newest first, strictly older than `after` when
    /// given.
    pub fn names<'a>(
        &'a self,
        terms: &'a [Vec<Vec<String>>],
        after: Option<OrderId>,
    ) -> impl Iterator<Item = OrderId> + 'a {
        let start = match after {
            Some(k) => self.names.partition_point(|e| e.0 >= k),
            None => 0,
        };
        self.names[start..]
            .iter()
            .filter(move |e| pos_domain::search::matches(terms, |w| e.1.contains(w)))
            .map(|e| e.0)
    }

    /// Candidate orders with this phone blind index, newest first.
    pub fn phone(&self, blind: &[u8]) -> Vec<OrderId> {
        sorted(self.phones.get(&key(blind)))
    }

    /// Candidate orders with this e-mail blind index, newest first.
    pub fn email(&self, blind: &[u8]) -> Vec<OrderId> {
        sorted(self.emails.get(&key(blind)))
    }
}

fn sorted(v: Option<&Vec<OrderId>>) -> Vec<OrderId> {
    let mut v = v.cloned().unwrap_or_default();
    v.sort_by(|a, b| b.cmp(a));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s<'a>(name: &'a str, phone: Option<&'a [u8]>) -> Searchable<'a> {
        Searchable {
            name,
            phone_index: phone,
            email_index: None,
        }
    }

    /// `n` ids made in order at a fixed time.
    fn ids<const N: usize>() -> [OrderId; N] {
        let ids = pos_domain::UuidV7s::new();
        let at = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
        std::array::from_fn(|_| OrderId::from(ids.at(at)))
    }

    #[test]
    fn names_newest_first_paged_and_renamed() {
        let [a, b, c] = ids();
        let mut ix = SearchIndex::from_rows(vec![
            (a, "Siti Rahayu".into(), None, None),
            (c, "Budi".into(), None, None),
        ]);
        ix.upsert(b, None, s("SITI Aminah", None));
        let siti = pos_domain::search::query_terms("siti").expect("one word");
        assert_eq!(ix.names(&siti, None).collect::<Vec<_>>(), vec![b, a]);
        assert_eq!(ix.names(&siti, Some(b)).collect::<Vec<_>>(), vec![a]);
        ix.upsert(a, Some(s("Siti Rahayu", None)), s("Dewi", None));
        assert_eq!(ix.names(&siti, None).count(), 1);
    }

    #[test]
    fn phones_follow_edits() {
        let [a, b] = ids();
        let p1 = [1u8; 32];
        let p2 = [2u8; 32];
        let mut ix = SearchIndex::from_rows(vec![(a, "A".into(), Some(p1.to_vec()), None)]);
        ix.upsert(b, None, s("B", Some(&p1)));
        assert_eq!(ix.phone(&p1), vec![b, a]);
        ix.upsert(a, Some(s("A", Some(&p1))), s("A", Some(&p2)));
        assert_eq!(ix.phone(&p1), vec![b]);
        assert_eq!(ix.phone(&p2), vec![a]);
        assert!(ix.email(&p2).is_empty());
    }
}
