//! The small closed sets of words that events carry (their kind, direction, the kind of peer
//! of a call, the size class of a transfer), as enums: the compiler checks every match, and
//! the serialized form is the documented word (docs/formats.md).

/// An enum of documented words: `as_str` gives the word, `Display` and `Serialize` write it,
/// `ALL` lists every variant. Variants are declared in the alphabetical order of their words,
/// so the derived order sorts as the words do (outputs sorted by kind keep their order).
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every variant, in the order of their words.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The documented word.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// The variant a word names.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

words! {
    /// What an event says happened.
    EventKind {
        /// A call that was offered but never carried media both ways.
        CallAttempt => "call_attempt",
        MediaDownload => "media_download",
        MediaUpload => "media_upload",
        MessageIn => "message_in",
        MessageOut => "message_out",
        /// A span of activity with no gap longer than the session gap.
        OnlineSession => "online_session",
        /// Small inbound records answered at a steady pace with no user activity around them.
        ProbingSuspected => "probing_suspected",
        PushWakeup => "push_wakeup",
        ReadReceipt => "read_receipt",
        TypingIndicator => "typing_indicator",
        VideoCall => "video_call",
        VoiceCall => "voice_call",
    }
}

impl EventKind {
    /// An answered call, voice or video.
    pub const fn is_call(self) -> bool {
        matches!(self, Self::VoiceCall | Self::VideoCall)
    }

    /// A message one way or the other.
    pub const fn is_message(self) -> bool {
        matches!(self, Self::MessageIn | Self::MessageOut)
    }

    /// A media transfer one way or the other.
    pub const fn is_media(self) -> bool {
        matches!(self, Self::MediaUpload | Self::MediaDownload)
    }
}

words! {
    /// Which way an event went, seen from the user's device.
    Direction {
        Both => "both",
        In => "in",
        Out => "out",
    }
}

words! {
    /// Who is on the other end of a call's media.
    PeerKind {
        /// The other person's device: its address is exposed.
        Direct => "direct",
        /// A service's relay server.
        Relay => "relay",
        /// Neither: no evidence of a relay nor of a person's device.
        Unknown => "unknown",
    }
}

words! {
    /// The size class of a media transfer (docs/activity-model.md gives the bounds).
    SizeClass {
        Photo => "photo",
        Video => "video",
        VoiceNote => "voice_note",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_sort_as_their_words() {
        fn check<T: Ord + Copy + std::fmt::Display>(all: &[T]) {
            for w in all.windows(2) {
                assert!(w[0] < w[1]);
                assert!(w[0].to_string() < w[1].to_string(), "{} !< {}", w[0], w[1]);
            }
        }
        check(EventKind::ALL);
        check(Direction::ALL);
        check(PeerKind::ALL);
        check(SizeClass::ALL);
    }

    #[test]
    fn words_round_trip_and_serialize_as_words() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
            assert_eq!(
                serde_json::to_string(k).ok(),
                Some(format!("\"{}\"", k.as_str()))
            );
        }
        assert_eq!(EventKind::parse("voice_calls"), None);
        assert!(EventKind::VideoCall.is_call() && !EventKind::CallAttempt.is_call());
    }
}
