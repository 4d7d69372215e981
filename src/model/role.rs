//! The part a host or a marker plays for its service (chat, media, call, push, web, dns).

/// A role a host or marker plays for its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Chat,
    Media,
    Call,
    Push,
    Web,
    Dns,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "chat" => Role::Chat,
            "media" => Role::Media,
            "call" => Role::Call,
            "push" => Role::Push,
            "web" => Role::Web,
            "dns" => Role::Dns,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Chat => "chat",
            Role::Media => "media",
            Role::Call => "call",
            Role::Push => "push",
            Role::Web => "web",
            Role::Dns => "dns",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
