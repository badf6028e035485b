//! teloxide's dialogue `Storage` over the `dialogues` table: a half-finished dialogue is a
//! JSON row per chat, so it survives a restart of the bot.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use diesel::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::ChatId;

use crate::clock::SharedClock;
use crate::db::pool::{self, DbPool, PoolError};
use crate::schema::dialogues;

#[derive(Debug, thiserror::Error)]
pub enum DialogueStorageError {
    #[error(transparent)]
    Db(#[from] PoolError),
    #[error("dialogue state of chat {chat_id} cannot be saved: {source}")]
    Json {
        chat_id: i64,
        source: serde_json::Error,
    },
}

pub struct DbStorage<D> {
    pool: DbPool,
    clock: SharedClock,
    _state: PhantomData<fn() -> D>,
}

impl<D> DbStorage<D> {
    pub fn new(pool: DbPool, clock: SharedClock) -> Arc<Self> {
        Arc::new(Self {
            pool,
            clock,
            _state: PhantomData,
        })
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The default state (Idle) is stored as no row: most chats are idle most of the time.
impl<D> Storage<D> for DbStorage<D>
where
    D: Serialize + DeserializeOwned + Default + PartialEq + Send + 'static,
{
    type Error = DialogueStorageError;

    fn remove_dialogue(self: Arc<Self>, chat_id: ChatId) -> BoxFuture<Result<(), Self::Error>>
    where
        D: Send + 'static,
    {
        Box::pin(async move {
            pool::run(&self.pool, move |conn| {
                diesel::delete(dialogues::table.find(chat_id.0)).execute(conn)
            })
            .await?;
            Ok(())
        })
    }

    fn update_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
        dialogue: D,
    ) -> BoxFuture<Result<(), Self::Error>>
    where
        D: Send + 'static,
    {
        Box::pin(async move {
            if dialogue == D::default() {
                return self.remove_dialogue(chat_id).await;
            }
            let state =
                serde_json::to_string(&dialogue).map_err(|source| DialogueStorageError::Json {
                    chat_id: chat_id.0,
                    source,
                })?;
            let now = self.clock.now_naive();
            pool::run(&self.pool, move |conn| {
                diesel::replace_into(dialogues::table)
                    .values((
                        dialogues::chat_id.eq(chat_id.0),
                        dialogues::state.eq(state),
                        dialogues::updated_at.eq(now),
                    ))
                    .execute(conn)
            })
            .await?;
            Ok(())
        })
    }

    fn get_dialogue(self: Arc<Self>, chat_id: ChatId) -> BoxFuture<Result<Option<D>, Self::Error>> {
        Box::pin(async move { Ok(pool::run(&self.pool, move |conn| read(conn, chat_id.0)).await?) })
    }
}

/// The dialogue of a chat, on a connection the caller already holds (the handler tree reads it
/// in the same trip as the sender's registration). None: idle, or a state this version cannot
/// read.
pub fn read<D: DeserializeOwned>(
    conn: &mut SqliteConnection,
    chat_id: i64,
) -> QueryResult<Option<D>> {
    let stored: Option<String> = dialogues::table
        .find(chat_id)
        .select(dialogues::state)
        .first(conn)
        .optional()?;
    let Some(json) = stored else {
        return Ok(None);
    };
    match serde_json::from_str(&json) {
        Ok(state) => Ok(Some(state)),
        // Saved by a version whose states were different: an error here would leave the
        // person unanswered on every message, so they start afresh instead.
        Err(error) => {
            log::warn!(
                "dialogue of chat {chat_id} cannot be read ({error}); it starts afresh: {json}"
            );
            Ok(None)
        }
    }
}
