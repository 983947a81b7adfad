//! Customer-name substring search over encrypted names. The names are decrypted into memory
//! once (on the first name search) and kept up to date by every write; nothing extra is stored
//! on disk, so the file reveals nothing about names.

use pos_domain::OrderId;

#[derive(Debug)]
struct Entry {
    created_at: String,
    id: OrderId,
    name: String,
}

/// Orders' lower-cased names, newest first.
#[derive(Debug, Default)]
pub(crate) struct NameIndex {
    entries: Vec<Entry>,
}

impl NameIndex {
    fn key(e: &Entry) -> (&str, OrderId) {
        (&e.created_at, e.id)
    }

    pub fn upsert(&mut self, id: OrderId, created_at: String, name: &str) {
        let name = name.to_lowercase();
        let probe = (created_at.as_str(), id);
        // newest first: find by descending key
        match self
            .entries
            .binary_search_by(|e| probe.cmp(&Self::key(e)))
        {
            Ok(i) => self.entries[i].name = name,
            Err(i) => self.entries.insert(
                i,
                Entry {
                    created_at,
                    id,
                    name,
                },
            ),
        }
    }

    pub fn from_unsorted(mut items: Vec<(OrderId, String, String)>) -> Self {
        items.sort_by(|a, b| (&b.1, b.0).cmp(&(&a.1, a.0)));
        NameIndex {
            entries: items
                .into_iter()
                .map(|(id, created_at, name)| Entry {
                    created_at,
                    id,
                    name: name.to_lowercase(),
                })
                .collect(),
        }
    }

    /// Ids of orders whose name contains `needle` (already lower-cased), newest first, strictly
    /// older than `after` when given.
    pub fn matches<'a>(
        &'a self,
        needle: &'a str,
        after: Option<(&'a str, OrderId)>,
    ) -> impl Iterator<Item = OrderId> + 'a {
        let start = match after {
            Some(k) => self
                .entries
                .partition_point(|e| Self::key(e) >= k),
            None => 0,
        };
        self.entries[start..]
            .iter()
            .filter(move |e| e.name.contains(needle))
            .map(|e| e.id)
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
        let mut ix = NameIndex::from_unsorted(vec![
            (a, "2026-01-01".into(), "Siti Rahayu".into()),
            (c, "2026-01-03".into(), "Budi".into()),
        ]);
        ix.upsert(b, "2026-01-02".into(), "SITI Aminah");
        let all: Vec<_> = ix.matches("siti", None).collect();
        assert_eq!(all, vec![b, a]);
        let after: Vec<_> = ix.matches("siti", Some(("2026-01-02", b))).collect();
        assert_eq!(after, vec![a]);
        ix.upsert(a, "2026-01-01".into(), "Dewi");
        assert_eq!(ix.matches("siti", None).count(), 1);
    }
}
