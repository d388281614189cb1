//! Limits on every wait, so a hung server fails the figure with a message instead of hanging
//! the benchmark.

use std::future::Future;
use std::time::Duration;

/// Runs `work`, failing with "`what`: not done within `limit`" if it takes longer.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => anyhow::bail!("{what}: not done within {limit:?} (is the server hung?)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn work_past_its_limit_fails_with_what_it_was() {
        let never = std::future::pending::<anyhow::Result<()>>();
        let err = within(Duration::from_secs(5), "waiting for RUNNING", never)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("waiting for RUNNING: not done within 5s")
        );
    }
}
