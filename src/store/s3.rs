//! Amazon S3 (or any S3 API, e.g. moto in tests) through the official SDK.

use super::{Condition, Fetched, Listed, ObjectHead, ObjectStore, PutObject, StoreError};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::collections::HashMap;
use std::time::SystemTime;

/// The S3 client, built once per cold start.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
}

impl S3Store {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A client from the standard AWS environment (region, credentials,
    /// `AWS_ENDPOINT_URL`), read by the SDK. With a custom endpoint (local
    /// emulators) the client uses path-style addressing; nothing else differs.
    pub async fn from_env() -> Self {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(https_client())
            .load()
            .await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared);
        // A custom endpoint (AWS_ENDPOINT_URL, read by the SDK) is an
        // emulator: buckets go in the path, not in the host name.
        if shared.endpoint_url().is_some() {
            config = config.force_path_style(true);
        }
        Self::new(Client::from_conf(config.build()))
    }
}

/// One TLS stack for the whole binary: rustls with ring (no aws-lc build).
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// 404s mean the object is gone; a failed precondition (412), or S3's 409
/// for two conditional writes at once, that someone else changed it first;
/// a GET's 403 InvalidObjectState, that the object is archived (Glacier);
/// everything else may work on a retry (throttling, network, 5xx) or after
/// a fix (403), so the event is kept.
fn classify<E>(what: &str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = match &err {
        SdkError::ServiceError(service) => service.err().code().map(str::to_owned),
        _ => None,
    };
    let message = format!("{what}: {}", describe(&err));
    match code.as_deref() {
        Some("NoSuchKey" | "NotFound" | "NoSuchVersion") => StoreError::NotFound(message),
        Some("PreconditionFailed" | "ConditionalRequestConflict") => StoreError::Conflict(message),
        Some("InvalidObjectState") => StoreError::Archived(message),
        _ => StoreError::Transient(message),
    }
}

/// An SDK error in a line an operator can read: S3's code, message and
/// request id (what AWS support asks for), or the chain of causes of an
/// error before an answer (network, timeout). The SDK's own rendering ends
/// with the whole error's debug form, raw HTTP response included.
fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let SdkError::ServiceError(service) = err {
        let e = service.err();
        let mut line = match (e.code(), e.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            // A HEAD's answer has no body to name the error: its status does.
            (None, _) => format!("HTTP {}: {e}", service.raw().status().as_u16()),
        };
        if let Some(id) = e.meta().request_id() {
            line.push_str(&format!(" (request id {id})"));
        }
        return line;
    }
    let mut line = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        line.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    line
}

/// ETags travel quoted; conditions compare them without.
fn unquoted(etag: Option<&str>) -> Option<String> {
    etag.map(|e| e.trim_matches('"').to_owned())
}

impl ObjectStore for S3Store {
    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectHead, StoreError> {
        let out = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify("HeadObject", e))?;
        Ok(ObjectHead {
            size: out.content_length().unwrap_or(0).max(0) as u64,
            version_id: out.version_id().map(str::to_owned),
            etag: unquoted(out.e_tag()),
            last_modified: out
                .last_modified()
                .and_then(|t| SystemTime::try_from(*t).ok()),
            metadata: out.metadata().cloned().unwrap_or_default(),
        })
    }

    async fn get(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        read_body: &(dyn Fn(&ObjectHead) -> bool + Sync),
    ) -> Result<Fetched, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_owned))
            .send()
            .await
            .map_err(|e| classify("GetObject", e))?;
        let head = ObjectHead {
            size: out.content_length().unwrap_or(0).max(0) as u64,
            version_id: out.version_id().map(str::to_owned),
            etag: unquoted(out.e_tag()),
            last_modified: out
                .last_modified()
                .and_then(|t| SystemTime::try_from(*t).ok()),
            metadata: out.metadata().cloned().unwrap_or_default(),
        };
        if !read_body(&head) {
            // Dropping the stream closes the connection: the body is not read.
            return Ok(Fetched { head, body: None });
        }
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Transient(format!("GetObject body: {e}")))?;
        Ok(Fetched {
            head,
            // Without a copy when the body came in one piece.
            body: Some(Vec::from(body.into_bytes())),
        })
    }

    async fn put(&self, o: PutObject<'_>) -> Result<(), StoreError> {
        let metadata: HashMap<String, String> = o
            .metadata
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let mut req = self
            .client
            .put_object()
            .bucket(o.bucket)
            .key(o.key)
            .body(ByteStream::from(o.body))
            .content_type(o.content_type)
            .cache_control(o.cache_control)
            .set_metadata(Some(metadata));
        if let Some(arn) = o.kms_key_arn {
            req = req
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(arn);
        }
        req = match o.condition {
            None => req,
            Some(Condition::Absent) => req.if_none_match("*"),
            Some(Condition::Unchanged(etag)) => req.if_match(format!("\"{etag}\"")),
        };
        req.send().await.map_err(|e| classify("PutObject", e))?;
        Ok(())
    }

    async fn delete(
        &self,
        bucket: &str,
        key: &str,
        if_match: Option<&str>,
    ) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .set_if_match(if_match.map(|etag| format!("\"{etag}\"")))
            .send()
            .await
            .map_err(|e| classify("DeleteObject", e))?;
        Ok(())
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListObjectsV2", e))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    out.push(Listed {
                        key: key.to_owned(),
                        size: object.size().unwrap_or(0).max(0) as u64,
                        last_modified: object
                            .last_modified()
                            .and_then(|t| SystemTime::try_from(*t).ok()),
                    });
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error;
    use aws_sdk_s3::primitives::SdkBody;
    use aws_smithy_runtime_api::http::StatusCode;

    fn answer(status: u16) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
    }

    #[test]
    fn errors_read_in_one_line() {
        // S3 named the error: its code, message and request id.
        let meta = ErrorMetadata::builder()
            .code("NoSuchBucket")
            .message("The specified bucket does not exist")
            .custom("aws_request_id", "R123")
            .build();
        let listed = SdkError::service_error(ListObjectsV2Error::generic(meta), answer(404));
        assert_eq!(
            describe(&listed),
            "NoSuchBucket: The specified bucket does not exist (request id R123)"
        );
        // A HEAD's answer has no body: the status names it.
        let head = SdkError::service_error(
            HeadObjectError::generic(ErrorMetadata::builder().build()),
            answer(403),
        );
        let line = describe(&head);
        assert!(line.starts_with("HTTP 403: "), "{line}");
        assert!(!line.contains("Response"), "{line}");
        assert!(
            matches!(classify("HeadObject", head), StoreError::Transient(m) if m.starts_with("HeadObject: HTTP 403"))
        );
    }
}
