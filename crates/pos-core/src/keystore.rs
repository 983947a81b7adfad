//! Where the data key lives: the OS keyring, behind a small trait. There is no plain-file
//! implementation in the app.

use crate::crypto::MasterKey;

#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("the OS keyring is not available: {0}")]
    Unavailable(String),
    #[error("the OS keyring refused access: {0}")]
    Denied(String),
    #[error("the key in the OS keyring is malformed")]
    Malformed,
    #[error(
        "this store's data key is missing from the OS keyring; without it the stored customer data cannot be read"
    )]
    Missing,
}

/// Keeps 256-bit data keys, and other secrets (the device's sync secret), by id.
pub trait KeyStore: Send + Sync {
    fn load(&self, key_id: &str) -> Result<Option<MasterKey>, KeyStoreError>;
    fn save(&self, key_id: &str, key: &MasterKey) -> Result<(), KeyStoreError>;
    fn delete(&self, key_id: &str) -> Result<(), KeyStoreError>;
    fn load_secret(&self, id: &str) -> Result<Option<zeroize::Zeroizing<String>>, KeyStoreError>;
    fn save_secret(&self, id: &str, secret: &str) -> Result<(), KeyStoreError>;
}

#[cfg(not(any(target_os = "linux", target_os = "windows", target_os = "macos")))]
compile_error!("the app keeps its data key in the OS keyring of Linux, Windows or macOS only");

/// Which OS store holds the key. Each platform has its own; there is no in-memory or file
/// store, so without a working one a store is neither created nor opened
/// ([`KeyStoreError::Unavailable`] says why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyringBackend {
    /// Linux: the desktop's Secret Service (GNOME Keyring, KWallet): persists across reboots.
    /// The app's choice on Linux.
    #[cfg(target_os = "linux")]
    SecretService,
    /// Linux: the kernel's keyutils session keyring: present wherever a session keyring is,
    /// but its keys do not survive a reboot (tests and headless machines).
    #[cfg(target_os = "linux")]
    KernelKeyutils,
    /// Windows: the Credential Manager (generic credentials of the signed-in user).
    #[cfg(target_os = "windows")]
    CredentialManager,
    /// macOS: the user's login Keychain.
    #[cfg(target_os = "macos")]
    Keychain,
}

impl KeyringBackend {
    /// The app's store on this platform: the Secret Service on Linux, the Credential Manager
    /// on Windows, the Keychain on macOS.
    pub const fn native() -> KeyringBackend {
        #[cfg(target_os = "linux")]
        return KeyringBackend::SecretService;
        #[cfg(target_os = "windows")]
        return KeyringBackend::CredentialManager;
        #[cfg(target_os = "macos")]
        return KeyringBackend::Keychain;
    }

    /// The store named `name` (`secret-service`, `keyutils`, `credential-manager`,
    /// `keychain`), if this platform has it.
    pub fn named(name: &str) -> Option<KeyringBackend> {
        [
            #[cfg(target_os = "linux")]
            KeyringBackend::SecretService,
            #[cfg(target_os = "linux")]
            KeyringBackend::KernelKeyutils,
            #[cfg(target_os = "windows")]
            KeyringBackend::CredentialManager,
            #[cfg(target_os = "macos")]
            KeyringBackend::Keychain,
        ]
        .into_iter()
        .find(|b| b.name() == name)
    }

    /// This store's name, as [`KeyringBackend::named`] reads it.
    pub const fn name(self) -> &'static str {
        match self {
            #[cfg(target_os = "linux")]
            KeyringBackend::SecretService => "secret-service",
            #[cfg(target_os = "linux")]
            KeyringBackend::KernelKeyutils => "keyutils",
            #[cfg(target_os = "windows")]
            KeyringBackend::CredentialManager => "credential-manager",
            #[cfg(target_os = "macos")]
            KeyringBackend::Keychain => "keychain",
        }
    }
}

/// The OS keyring (keyring crate), entries named `service` / key id.
#[derive(Debug, Clone)]
pub struct OsKeyring {
    service: String,
    backend: KeyringBackend,
}

impl OsKeyring {
    pub fn new(service: impl Into<String>, backend: KeyringBackend) -> Self {
        OsKeyring {
            service: service.into(),
            backend,
        }
    }

    /// The OS store this keyring uses.
    pub fn backend(&self) -> KeyringBackend {
        self.backend
    }

    fn entry(&self, key_id: &str) -> Result<keyring::Entry, KeyStoreError> {
        // Each credential from its platform's module, never keyring's default builder (its
        // in-memory mock where a platform's feature is missing).
        let cred: Box<keyring::credential::Credential> = match self.backend {
            #[cfg(target_os = "linux")]
            KeyringBackend::SecretService => Box::new(
                keyring::secret_service::SsCredential::new_with_target(None, &self.service, key_id)
                    .map_err(map_err)?,
            ),
            #[cfg(target_os = "linux")]
            KeyringBackend::KernelKeyutils => Box::new(
                keyring::keyutils::KeyutilsCredential::new_with_target(None, &self.service, key_id)
                    .map_err(map_err)?,
            ),
            #[cfg(target_os = "windows")]
            KeyringBackend::CredentialManager => Box::new(
                keyring::windows::WinCredential::new_with_target(None, &self.service, key_id)
                    .map_err(map_err)?,
            ),
            #[cfg(target_os = "macos")]
            KeyringBackend::Keychain => Box::new(
                keyring::macos::MacCredential::new_with_target(None, &self.service, key_id)
                    .map_err(map_err)?,
            ),
        };
        Ok(keyring::Entry::new_with_credential(cred))
    }
}

fn map_err(e: keyring::Error) -> KeyStoreError {
    match e {
        keyring::Error::NoEntry => KeyStoreError::Missing,
        keyring::Error::BadEncoding(_) => KeyStoreError::Malformed,
        keyring::Error::NoStorageAccess(inner) => KeyStoreError::Denied(inner.to_string()),
        keyring::Error::PlatformFailure(inner) => KeyStoreError::Unavailable(inner.to_string()),
        other => KeyStoreError::Unavailable(other.to_string()),
    }
}

impl KeyStore for OsKeyring {
    fn load(&self, key_id: &str) -> Result<Option<MasterKey>, KeyStoreError> {
        match self.entry(key_id)?.get_password() {
            Ok(secret) => {
                let secret = zeroize::Zeroizing::new(secret);
                MasterKey::from_base64(&secret)
                    .map(Some)
                    .ok_or(KeyStoreError::Malformed)
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    fn save(&self, key_id: &str, key: &MasterKey) -> Result<(), KeyStoreError> {
        self.entry(key_id)?
            .set_password(&key.to_base64())
            .map_err(map_err)
    }

    fn delete(&self, key_id: &str) -> Result<(), KeyStoreError> {
        match self.entry(key_id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_err(e)),
        }
    }

    fn load_secret(&self, id: &str) -> Result<Option<zeroize::Zeroizing<String>>, KeyStoreError> {
        match self.entry(id)?.get_password() {
            Ok(secret) => Ok(Some(zeroize::Zeroizing::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    fn save_secret(&self, id: &str, secret: &str) -> Result<(), KeyStoreError> {
        self.entry(id)?.set_password(secret).map_err(map_err)
    }
}
