// Classification and decisions: dev set accuracy and corpus machine mail.
mod classify;
