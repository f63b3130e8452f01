//! moto server, the S3 emulator the integration tests and the benchmark run
//! against (`pip install 'moto[server]'`; scripts/test.sh installs it), and an
//! SDK client for it.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto server on a free loopback port (`pip install 'moto[server]'`),
/// stopped on drop.
pub struct S3Emulator {
    child: Child,
    pub endpoint: String,
}

impl S3Emulator {
    pub fn start() -> io::Result<S3Emulator> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("moto_server: {e} (pip install 'moto[server]')"),
                )
            })?;
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(30) || child.try_wait()?.is_some() {
                let _ = child.kill();
                return Err(io::Error::other("moto_server did not start within 30 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(S3Emulator {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for S3Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Emulator {
    /// An S3 client for this emulator: path-style addressing, fixed dummy
    /// credentials, nothing read from the environment.
    pub fn client(&self) -> aws_sdk_s3::Client {
        client_for(&self.endpoint)
    }

    /// Turns versioning on for `bucket`.
    pub fn enable_versioning(&self, bucket: &str) {
        use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
        let client = self.client();
        block_on(async {
            client
                .put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .unwrap_or_else(|e| panic!("versioning {bucket}: {e:?}"));
        });
    }

    /// PUTs one object: its version id, in a versioned bucket.
    pub fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Option<String> {
        self.put_with_metadata(bucket, key, body, &[])
    }

    /// PUTs one object with user metadata: its version id, in a versioned bucket.
    pub fn put_with_metadata(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        metadata: &[(&str, &str)],
    ) -> Option<String> {
        self.put_object(bucket, key, body, metadata, None)
    }

    /// PUTs one object straight into S3 Glacier Flexible Retrieval: GETs of
    /// it fail (InvalidObjectState) until it is restored.
    pub fn put_archived(&self, bucket: &str, key: &str, body: Vec<u8>) {
        let glacier = Some(aws_sdk_s3::types::StorageClass::Glacier);
        self.put_object(bucket, key, body, &[], glacier);
    }

    fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        metadata: &[(&str, &str)],
        storage_class: Option<aws_sdk_s3::types::StorageClass>,
    ) -> Option<String> {
        let client = self.client();
        let metadata = metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        block_on(async {
            client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(body.into())
                .set_metadata(Some(metadata))
                .set_storage_class(storage_class)
                .send()
                .await
                .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"))
                .version_id()
                .map(str::to_owned)
        })
    }

    /// DELETEs one object: the delete marker's version id, in a versioned bucket.
    pub fn delete(&self, bucket: &str, key: &str) -> Option<String> {
        let client = self.client();
        block_on(async {
            client
                .delete_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("delete {bucket}/{key}: {e:?}"))
                .version_id()
                .map(str::to_owned)
        })
    }

    /// The body of one object, or `None` when there is none.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let client = self.client();
        block_on(async {
            let out = client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .ok()?;
            Some(out.body.collect().await.ok()?.to_vec())
        })
    }

    /// Creates `buckets`, then puts each `(bucket, key, body)`.
    pub fn seed(&self, buckets: &[&str], objects: &[(&str, &str, Vec<u8>)]) {
        let client = self.client();
        block_on(async {
            for bucket in buckets {
                client
                    .create_bucket()
                    .bucket(*bucket)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
            }
            for (bucket, key, body) in objects {
                client
                    .put_object()
                    .bucket(*bucket)
                    .key(*key)
                    .body(body.clone().into())
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("put s3://{bucket}/{key}: {e:?}"));
            }
        });
    }

    /// Every key in `bucket`, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let client = self.client();
        let mut keys: Vec<String> = block_on(async {
            let mut pages = client
                .list_objects_v2()
                .bucket(bucket)
                .into_paginator()
                .send();
            let mut keys = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.unwrap_or_else(|e| panic!("list {bucket}: {e:?}"));
                keys.extend(
                    page.contents()
                        .iter()
                        .filter_map(|o| o.key().map(str::to_owned)),
                );
            }
            keys
        });
        keys.sort();
        keys
    }

    /// The response of a HEAD of one object.
    pub fn head(
        &self,
        bucket: &str,
        key: &str,
    ) -> aws_sdk_s3::operation::head_object::HeadObjectOutput {
        let client = self.client();
        block_on(async {
            client
                .head_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("head s3://{bucket}/{key}: {e:?}"))
        })
    }
}

/// Runs one SDK call from a plain (non-async) test.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// An S3 client for an emulator at `endpoint` (see [`S3Emulator::client`]).
pub fn client_for(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "emulator", "emulator", None, None, "emulator",
        ))
        .force_path_style(true)
        .http_client(http_client())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The SDK has no HTTP client without its default features (the function
/// chooses rustls with ring); plain HTTP to the emulator needs one too.
fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}
