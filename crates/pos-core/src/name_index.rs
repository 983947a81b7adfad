//! Customer-name substring search over encrypted names. The names are decrypted into memory
//! once (on the first name search) and kept up to date by every write; nothing extra is stored
//! on disk, so the file reveals nothing about names.

use pos_domain::OrderId;

/// Orders' lower-cased names, newest first (ids are UUIDv7, so by id descending).
#[derive(Debug, Default)]
pub(crate) struct NameIndex {
    entries: Vec<(OrderId, String)>,
}

impl NameIndex {
    pub fn upsert(&mut self, id: OrderId, name: &str) {
        let name = name.to_lowercase();
        match self.entries.binary_search_by(|e| id.cmp(&e.0)) {
            Ok(i) => self.entries[i].1 = name,
            Err(i) => self.entries.insert(i, (id, name)),
        }
    }

    pub fn from_unsorted(mut items: Vec<(OrderId, String)>) -> Self {
        items.sort_by(|a, b| b.0.cmp(&a.0));
        NameIndex {
            entries: items
                .into_iter()
                .map(|(id, name)| (id, name.to_lowercase()))
                .collect(),
        }
    }

    /// Ids of orders whose name contains `needle` (already lower-cased), newest first, strictly
    /// older than `after` when given.
    pub fn matches<'a>(
        &'a self,
        needle: &'a str,
        after: Option<OrderId>,
    ) -> impl Iterator<Item = OrderId> + 'a {
        let start = match after {
            Some(k) => self.entries.partition_point(|e| e.0 >= k),
            None => 0,
        };
        self.entries[start..]
            .iter()
            .filter(move |e| e.1.contains(needle))
            .map(|e| e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_and_paged() {
        let a = OrderId::new();
        let b = OrderId::new();
        let c = OrderId::new();
        let mut ix = NameIndex::from_unsorted(vec![(a, "Siti Rahayu".into()), (c, "Budi".into())]);
        ix.upsert(b, "SITI Aminah");
        let all: Vec<_> = ix.matches("siti", None).collect();
        assert_eq!(all, vec![b, a]);
        let after: Vec<_> = ix.matches("siti", Some(b)).collect();
        assert_eq!(after, vec![a]);
        ix.upsert(a, "Dewi");
        assert_eq!(ix.matches("siti", None).count(), 1);
    }
}
