//! Spreading indexed jobs over a fixed number of concurrent clients, and joining spawned work.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::task::JoinSet;

/// Runs `job(client, index)` for every index in `0..count`, with one worker per client; each
/// worker takes the next index as soon as its previous job is done. Stops at the first error.
pub async fn for_each_index<C, F, Fut>(clients: Vec<C>, count: usize, job: F) -> anyhow::Result<()>
where
    C: Clone + Send + 'static,
    F: Fn(C, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for client in clients {
        let next = Arc::clone(&next);
        let job = job.clone();
        workers.spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    return Ok(());
                }
                job(client.clone(), index).await?;
            }
        });
    }
    join_all(workers).await?;
    Ok(())
}

/// Waits for every task of `tasks` and returns their results in completion order; the first
/// error (or panic) is returned at once and the remaining tasks are aborted.
pub async fn join_all<T: 'static>(mut tasks: JoinSet<anyhow::Result<T>>) -> anyhow::Result<Vec<T>> {
    let mut results = Vec::with_capacity(tasks.len());
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.map_err(|err| anyhow::anyhow!("a worker task failed: {err}"))??);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn every_index_runs_exactly_once_across_workers() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        for_each_index(vec![(); 4], 100, move |(), index| {
            let record = Arc::clone(&record);
            async move {
                record.lock().unwrap().push(index);
                Ok(())
            }
        })
        .await
        .unwrap();
        let mut seen = seen.lock().unwrap().clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn the_first_failure_is_returned() {
        let result = for_each_index(vec![(); 2], 10, |(), index| async move {
            anyhow::ensure!(index != 3, "job 3 failed");
            Ok(())
        })
        .await;
        assert_eq!(result.unwrap_err().to_string(), "job 3 failed");
    }
}
