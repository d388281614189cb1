//! One page of a ListObjectsV2 answer: objects in key order after a continuation point, with
//! keys that go on past a delimiter rolled up into common prefixes, each counted once.

use aerie_blob::{BlobError, Blobs, ObjectMeta};

/// One page of a listing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub objects: Vec<ObjectMeta>,
    pub prefixes: Vec<String>,
    /// Where the next page starts, if there is one.
    pub next: Option<String>,
}

/// Sorts after every key that starts with the prefix it ends: no valid UTF-8 character sorts
/// higher, so the next page skips a rolled-up prefix whole.
const PAST_PREFIX: char = char::MAX;

/// The page of keys under `prefix` after `after`, at most `max_keys` entries (objects and
/// common prefixes together).
pub async fn page(
    blobs: &Blobs,
    prefix: &str,
    after: &str,
    delimiter: Option<&str>,
    max_keys: usize,
) -> Result<Page, BlobError> {
    let mut page = Page::default();
    let mut last_position = String::new();
    for meta in blobs.list(prefix, after, usize::MAX).await? {
        let rolled_up = delimiter.and_then(|delimiter| {
            let rest = &meta.key[prefix.len()..];
            rest.find(delimiter)
                .map(|at| format!("{prefix}{}", &rest[..at + delimiter.len()]))
        });
        if rolled_up.is_some() && rolled_up.as_ref() == page.prefixes.last() {
            continue;
        }
        if page.objects.len() + page.prefixes.len() == max_keys {
            page.next = Some(last_position);
            return Ok(page);
        }
        match rolled_up {
            Some(common) => {
                last_position = format!("{common}{PAST_PREFIX}");
                page.prefixes.push(common);
            }
            None => {
                last_position = meta.key.clone();
                page.objects.push(meta);
            }
        }
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    async fn blobs_with(keys: &[&str]) -> (Blobs, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        for key in keys {
            blobs
                .put(&blobs.uri(key), Bytes::from_static(b"."))
                .await
                .unwrap();
        }
        (blobs, dir)
    }

    fn keys(page: &Page) -> Vec<&str> {
        page.objects.iter().map(|meta| meta.key.as_str()).collect()
    }

    #[tokio::test]
    async fn a_delimiter_rolls_deeper_keys_into_one_prefix_each() {
        let (blobs, _dir) = blobs_with(&["d/a", "d/sub/1", "d/sub/2", "d/z", "d/zz/1"]).await;
        let page = page(&blobs, "d/", "", Some("/"), 1000).await.unwrap();
        assert_eq!(keys(&page), ["d/a", "d/z"]);
        assert_eq!(page.prefixes, ["d/sub/", "d/zz/"]);
        assert_eq!(page.next, None);
    }

    #[tokio::test]
    async fn pages_continue_where_the_last_ended_and_skip_a_rolled_up_prefix_whole() {
        let (blobs, _dir) = blobs_with(&["d/a", "d/sub/1", "d/sub/2", "d/z"]).await;
        let first = page(&blobs, "d/", "", Some("/"), 2).await.unwrap();
        assert_eq!(keys(&first), ["d/a"]);
        assert_eq!(first.prefixes, ["d/sub/"]);
        let next = first.next.expect("a second page");
        let second = page(&blobs, "d/", &next, Some("/"), 2).await.unwrap();
        assert_eq!(keys(&second), ["d/z"]);
        assert!(second.prefixes.is_empty());
        assert_eq!(second.next, None);
        let flat = page(&blobs, "d/", "", None, 3).await.unwrap();
        assert_eq!(keys(&flat), ["d/a", "d/sub/1", "d/sub/2"]);
        assert_eq!(flat.next.as_deref(), Some("d/sub/2"));
    }
}
