//! The one constructor for outbound HTTP clients, and a JSON GET with bounded retries.

use std::time::Duration;

pub const USER_AGENT: &str = concat!("dezky/", env!("CARGO_PKG_VERSION"));
const ATTEMPTS: u32 = 3;

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// GETs a URL and decodes JSON, retrying connection failures and 5xx replies (up to three
/// attempts, 200 ms apart). A 4xx reply or a body that is not the expected JSON fails at once.
pub async fn get_json<T: serde::de::DeserializeOwned>(client: &reqwest::Client, url: &str) -> Result<T, String> {
    let mut last_error = String::new();
    for attempt in 1..=ATTEMPTS {
        match client.get(url).send().await {
            Ok(response) if response.status().is_server_error() => {
                last_error = format!("{url} answered {}", response.status());
            }
            Ok(response) if !response.status().is_success() => {
                return Err(format!("{url} answered {}", response.status()));
            }
            Ok(response) => {
                return response
                    .json::<T>()
                    .await
                    .map_err(|error| format!("{url} returned unexpected JSON: {error}"));
            }
            Err(error) => last_error = format!("{url}: {error}"),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Err(last_error)
}
