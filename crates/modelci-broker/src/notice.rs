//! The broker's notices: what it says about an operation, for the terminal.

use serde_json::Value;

/// One message of the broker about an operation (`notices[]`: `type` and `text`; older brokers
/// send `logs[]`: `level` and `message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `info`, `debug`, `warning`, `error`, `success`, `danger`, `prompt`... (empty when not
    /// given).
    pub kind: String,
    /// The message.
    pub text: String,
}

/// The notices of an answer: `notices`, else `logs`.
pub fn notices(answer: &Value) -> Vec<Notice> {
    let read = |list: Option<&Value>, kind: &str, text: &str| -> Vec<Notice> {
        list.and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|n| {
                        let text = n.get(text).and_then(Value::as_str)?;
                        Some(Notice {
                            kind: n
                                .get(kind)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                            text: text.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let found = read(answer.get("notices"), "type", "text");
    if found.is_empty() {
        read(answer.get("logs"), "level", "message")
    } else {
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn notices_then_logs() {
        assert_eq!(
            notices(
                &json!({"notices": [{"type": "warning", "text": "w"}, {"type": "x"}],
                            "logs": [{"level": "info", "message": "l"}]})
            ),
            vec![Notice {
                kind: "warning".into(),
                text: "w".into()
            }]
        );
        assert_eq!(
            notices(&json!({"logs": [{"level": "info", "message": "l"}]})),
            vec![Notice {
                kind: "info".into(),
                text: "l".into()
            }]
        );
        assert!(notices(&json!({"notices": "x"})).is_empty());
        assert!(notices(&json!(null)).is_empty());
    }
}
