package tutor

import (
	"fmt"
	"time"
)

// key names one user-facing text of the message catalog.
type key string

// The catalog's keys. Every key has a text in every language of catalog;
// a test keeps it so.
const (
	keyLevel       key = "level"
	keyVocabulary  key = "vocabulary"
	keySource      key = "source"
	keyFullArticle key = "full_article"

	keyWelcome      key = "welcome"
	keyCommands     key = "commands"
	keyAdminHelp    key = "admin_commands"
	keyHelpStart    key = "help_start"
	keyHelpSub      key = "help_subscribe"
	keyHelpUnsub    key = "help_unsubscribe"
	keyHelpPause    key = "help_pause"
	keyHelpResume   key = "help_resume"
	keyHelpSettings key = "help_settings"
	keyHelpTime     key = "help_time"
	keyHelpTimezone key = "help_timezone"
	keyHelpDays     key = "help_days"
	keyHelpLevel    key = "help_level"
	keyHelpLanguage key = "help_language"
	keyHelpLesson   key = "help_lesson"
	keyHelpRead     key = "help_read"
	keyHelpQuiz     key = "help_quiz"
	keyHelpScore    key = "help_score"
	keyHelpBoard    key = "help_leaderboard"
	keyHelpStats    key = "help_stats"
	keyHelpReload   key = "help_reload"
	keyHelpPreview  key = "help_preview"

	keyUnknownCommand key = "unknown_command"
	keyTooLong        key = "too_long"
	keyBadTime        key = "bad_time"
	keyBadZone        key = "bad_zone"
	keyBadDays        key = "bad_days"
	keyBadLevel       key = "bad_level"
	keyBadLanguage    key = "bad_language"
	keyBadPause       key = "bad_pause"
	keyBadSubscribe   key = "bad_subscribe"
	keyNoArgs         key = "no_args"
	keyNotAllowed     key = "not_allowed"
	keyAdminOnly      key = "admin_only"
	keyTrouble        key = "trouble"

	keySubscribed      key = "subscribed"
	keyUnsubscribed    key = "unsubscribed"
	keyNotSubscribed   key = "not_subscribed"
	keyPausedUntil     key = "paused_until"
	keyPausedForever   key = "paused_forever"
	keyResumed         key = "resumed"
	keyNotPaused       key = "not_paused"
	keyTimeSet         key = "time_set"
	keyZoneSet         key = "zone_set"
	keyDaysSet         key = "days_set"
	keyLevelSet        key = "level_set"
	keyLanguageSet     key = "language_set"
	keyNextLesson      key = "next_lesson"
	keyNextLessonNone  key = "next_lesson_none"
	keyNextLessonNever key = "next_lesson_never"

	keySettings         key = "settings"
	keySettingsActive   key = "settings_active"
	keySettingsInactive key = "settings_inactive"
	keySettingsPaused   key = "settings_paused"
	keySettingsForever  key = "settings_paused_forever"
	keyAnyLevel         key = "any_level"
	keyEveryDay         key = "every_day"
	keyOnDays           key = "on_days"
	keyDay              key = "day"
	keyDaysCount        key = "days_count"
	keyStatsTitle       key = "stats_title"
	keyDaysExample      key = "days_example"

	// The delivery states, as /stats counts them.
	keyStatePending   key = "state_pending"
	keyStateSending   key = "state_sending"
	keyStateSent      key = "state_sent"
	keyStateFailed    key = "state_failed"
	keyStateUnknown   key = "state_unknown"
	keyStateExhausted key = "state_exhausted"

	keyNoLesson       key = "no_lesson"
	keyNoCurrent      key = "no_current"
	keyNoQuiz         key = "no_quiz"
	keyQuestion       key = "question"
	keyMeaning        key = "meaning"
	keyReverse        key = "reverse"
	keyRight          key = "right"
	keyWrong          key = "wrong"
	keyAlready        key = "already"
	keyUnavailable    key = "unavailable"
	keyScore          key = "score"
	keyScoreNone      key = "score_none"
	keyScoreNobody    key = "score_nobody"
	keyTopChat        key = "top_chat"
	keyBoardWeek      key = "board_week"
	keyBoardAll       key = "board_all"
	keyBoardEmpty     key = "board_empty"
	keyBoardLine      key = "board_line"
	keyStats          key = "stats"
	keyStatsHardest   key = "stats_hardest"
	keyStatsUnknown   key = "stats_unknown"
	keyStatsLesson    key = "stats_lesson"
	keyStatsProblems  key = "stats_problems"
	keyReloaded       key = "reloaded"
	keyPreviewUsage   key = "preview_usage"
	keyPreviewUnknown key = "preview_unknown"

	// The dashboard's sign-in link.
	keyHelpDashboard    key = "help_dashboard"
	keyDashboardTitle   key = "dashboard_title"
	keyDashboardLink    key = "dashboard_link"
	keyDashboardPrivate key = "dashboard_private"
	keyDashboardOff     key = "dashboard_off"
	keyDashboardTooMany key = "dashboard_too_many"

	// Spaced review, streaks, the weekly summary, export and deletion.
	keyHelpReview      key = "help_review"
	keyHelpSummary     key = "help_summary"
	keyHelpExport      key = "help_export"
	keyHelpDelete      key = "help_deletemydata"
	keyReviewTitle     key = "review_title"
	keyReviewCloze     key = "review_cloze"
	keyReviewTerm      key = "review_term"
	keyKnowThis        key = "know_this"
	keyReviewBlock     key = "review_block"
	keyReviewRight     key = "review_right"
	keyReviewWrong     key = "review_wrong"
	keyReviewKnown     key = "review_known"
	keyReviewAlready   key = "review_already"
	keyReviewGone      key = "review_gone"
	keyReviewNone      key = "review_none"
	keyReviewEmpty     key = "review_empty"
	keyReviewDone      key = "review_done"
	keyReviewNext      key = "review_next"
	keyReviewPrivate   key = "review_private"
	keyReviewButton    key = "review_button"
	keyReviewChannel   key = "review_channel"
	keyWord            key = "word"
	keyWords           key = "words"
	keyToday           key = "today"
	keyTomorrow        key = "tomorrow"
	keyStreakFreezes   key = "streak_freezes"
	keyFreeze          key = "freeze"
	keyFreezes         key = "freezes"
	keySummaryTitle    key = "summary_title"
	keySummaryPrivate  key = "summary_private"
	keySummaryGroup    key = "summary_group_title"
	keySummaryGroupTxt key = "summary_group"
	keySummaryNoMiss   key = "summary_no_miss"
	keySummaryOn       key = "summary_on"
	keySummaryOff      key = "summary_off"
	keyBadSummary      key = "bad_summary"
	keyExportAnki      key = "export_anki"
	keyExportCSV       key = "export_csv"
	keyExportNone      key = "export_none"
	keyExportPrivate   key = "export_private"
	keyBadExport       key = "bad_export"
	keyDeleteAsk       key = "delete_ask"
	keyDeleteButton    key = "delete_button"
	keyDeleted         key = "deleted"
	keyDeletedNothing  key = "deleted_nothing"
	keyBadDelete       key = "bad_delete"
	keyWordGone        key = "word_gone"
	keyYou             key = "you"
)

// catalog holds every user-facing text, by language then key. Texts are
// fmt formats of plain text, escaped later by the adapters.
var catalog = map[string]map[key]string{
	"en": {
		keyLevel:       "Level %s",
		keyVocabulary:  "Vocabulary",
		keySource:      "Source",
		keyFullArticle: "Full article",

		keyWelcome:      "Hello! I send a short English news lesson every day: a summary, the key words in French, and a quiz. Send /subscribe to get one daily, or /lesson to start now.",
		keyCommands:     "Commands:",
		keyAdminHelp:    "Admin commands:",
		keyHelpStart:    "/help: this list",
		keyHelpSub:      "/subscribe [HH:MM] [zone]: a lesson every day in this chat",
		keyHelpUnsub:    "/unsubscribe: stop the daily lessons",
		keyHelpPause:    "/pause [days]: pause the lessons (until /resume without a number)",
		keyHelpResume:   "/resume: start the lessons again",
		keyHelpSettings: "/settings: this chat's time, zone, days, level and language",
		keyHelpTime:     "/time HH:MM: the time of the daily lesson",
		keyHelpTimezone: "/timezone Area/City: this chat's time zone",
		keyHelpDays:     "/days mon-fri | every | sat,sun: the days with a lesson",
		keyHelpLevel:    "/level A1…C2 | any: only lessons of this level",
		keyHelpLanguage: "/language en | fr: the language I speak here",
		keyHelpLesson:   "/lesson: the current lesson now",
		keyHelpRead:     "/read: the full article of the current lesson",
		keyHelpQuiz:     "/quiz: the current lesson's questions again",
		keyHelpScore:    "/score: your score and streak",
		keyHelpBoard:    "/leaderboard: this chat's best learners",
		keyHelpStats:    "/stats: subscriptions, deliveries and answers",
		keyHelpReload:   "/reload: reload the lessons and list their problems",
		keyHelpPreview:  "/preview ID: show a lesson's daily post",

		keyUnknownCommand: "I don't know /%s. Send /help for the list of commands.",
		keyTooLong:        "That is too long for /%s. Send /help for the commands and their arguments.",
		keyBadTime:        "%q is not a time of day. Use HH:MM on a 24-hour clock, for example: /time 07:30",
		keyBadZone:        "I don't know the time zone %q. Use an Area/City name, for example: /timezone Europe/Paris",
		keyBadDays:        "%q is not a set of days. Examples: /days mon-fri, /days every, /days sat,sun",
		keyBadLevel:       "%q is not a level. Use A1, A2, B1, B2, C1, C2 or any, for example: /level B1",
		keyBadLanguage:    "I don't speak %q here. Use en or fr, for example: /language fr",
		keyBadPause:       "%q is not a number of days. Example: /pause 7, or /pause alone to pause until /resume",
		keyBadSubscribe:   "I could not read %q. Example: /subscribe 07:30 Europe/Paris",
		keyNoArgs:         "/%s needs a value. Example: %s",
		keyNotAllowed:     "Only this chat's administrators can change its lessons.",
		keyAdminOnly:      "/%s is for lessonbot's admins.",
		keyTrouble:        "Something went wrong on my side. Please try again in a moment.",

		keySubscribed:      "Subscribed: a lesson at %s (%s), %s.",
		keyUnsubscribed:    "Unsubscribed: no more daily lessons here. Your scores stay; send /subscribe to come back.",
		keyNotSubscribed:   "This chat is not subscribed. Send /subscribe to get a lesson every day.",
		keyPausedUntil:     "Paused until %s. Send /resume to start again sooner.",
		keyPausedForever:   "Paused until you send /resume.",
		keyResumed:         "Resumed: the daily lessons start again.",
		keyNotPaused:       "The lessons are not paused.",
		keyTimeSet:         "The daily lesson now comes at %s (%s).",
		keyZoneSet:         "Time zone set to %s: the daily lesson comes at %s there.",
		keyDaysSet:         "Lessons now come on these days: %s.",
		keyLevelSet:        "Level set to %s.",
		keyLanguageSet:     "I will speak English here.",
		keyNextLesson:      "Next lesson: %q, %s.",
		keyNextLessonNone:  "Next lesson: %s, as soon as a new lesson is added.",
		keyNextLessonNever: "No lesson is scheduled.",

		keySettings:         "Settings of this chat",
		keySettingsActive:   "Daily lessons: on",
		keySettingsInactive: "Daily lessons: off (send /subscribe)",
		keySettingsPaused:   "Paused until %s",
		keySettingsForever:  "Paused until /resume",
		keyAnyLevel:         "any",
		keyEveryDay:         "every day",
		keyOnDays:           "on %s",
		keyDay:              "%d day",
		keyDaysCount:        "%d days",
		keyStatsTitle:       "Statistics",
		keyDaysExample:      "/days mon-fri",

		keyStatePending:   "waiting",
		keyStateSending:   "being sent",
		keyStateSent:      "sent",
		keyStateFailed:    "failed",
		keyStateUnknown:   "maybe sent",
		keyStateExhausted: "no lesson left",

		keyNoLesson:       "There is no lesson for this chat yet. Ask an admin to add some.",
		keyNoCurrent:      "No lesson yet in this chat. Send /lesson to get one.",
		keyNoQuiz:         "This lesson has no quiz.",
		keyQuestion:       "Question %d/%d: %s",
		keyMeaning:        "What does “%s” mean?",
		keyReverse:        "Which word means “%s”?",
		keyRight:          "✅ Right!",
		keyWrong:          "❌ Not quite: the answer is “%s”.",
		keyAlready:        "You already answered this question: “%s”.",
		keyUnavailable:    "This question is no longer available.",
		keyScore:          "%s: %d/%d correct (%d%%). Streak: %s.",
		keyScoreNone:      "%s: no answers yet. Send /lesson and answer the quiz!",
		keyScoreNobody:    "Scores are kept for each person who answers the quiz with the buttons.",
		keyTopChat:        "Top 5 in this chat",
		keyBoardWeek:      "This week",
		keyBoardAll:       "All time",
		keyBoardEmpty:     "No answers yet.",
		keyBoardLine:      "%d. %s: %d/%d",
		keyStats:          "Subscriptions: %s\nDeliveries today: %s\nAnswers today: %d",
		keyStatsHardest:   "Hardest question: %s (%d/%d right)",
		keyStatsUnknown:   "Messages that may or may not have arrived today (a send cut short, not sent again): %d",
		keyStatsLesson:    "%s: %d%% right (%d answers)",
		keyStatsProblems:  "Lesson problems:",
		keyReloaded:       "Reloaded: %s.",
		keyPreviewUsage:   "Say which lesson, for example: /preview %s",
		keyPreviewUnknown: "There is no lesson %q. Send /reload to see the lessons' problems.",

		keyHelpDashboard:    "/dashboard: a sign-in link to the web dashboard",
		keyDashboardTitle:   "Dashboard",
		keyDashboardLink:    "Open this link to sign in to lessonbot's dashboard. It works once, within %d minutes; keep it to yourself.\n%s",
		keyDashboardPrivate: "Send /dashboard in a private chat with me: the sign-in link is for you alone.",
		keyDashboardOff:     "The dashboard is not served here: lessonbot run serves it on the admin listener, when admin.listen is set in the config (such as 127.0.0.1:9090). Then send /dashboard again.",
		keyDashboardTooMany: "Too many sign-in links: at most %d in %d minutes. Use the last one, or send /dashboard again in a few minutes.",

		keyHelpReview:      "/review: go over the words due for review, one at a time",
		keyHelpSummary:     "/summary on|off: a summary of the week in this chat",
		keyHelpExport:      "/export [csv]: your words as a file for Anki (or, with csv, a spreadsheet)",
		keyHelpDelete:      "/deletemydata: delete everything lessonbot keeps about you",
		keyReviewTitle:     "Review %d/%d",
		keyReviewCloze:     "Which translation fits the gap?\n“%s”",
		keyReviewTerm:      "What does “%s” mean?",
		keyKnowThis:        "I know this",
		keyReviewBlock:     "Review: %s from earlier lessons, after the quiz.",
		keyReviewRight:     "✅ Right! It comes back %s.",
		keyReviewWrong:     "❌ It was “%s”. It comes back %s.",
		keyReviewKnown:     "Marked as known: it will not come back.",
		keyReviewAlready:   "You already reviewed this word today; nothing changed.",
		keyReviewGone:      "This word is no longer in the lessons.",
		keyReviewNone:      "Nothing to review today. Next review: %s, %s.",
		keyReviewEmpty:     "No words to review yet: answer a lesson's quiz, and the words you miss come back here.",
		keyReviewDone:      "Review done: %s. Next review: %s, %s.",
		keyReviewNext:      "Review done: %s. Nothing else is due.",
		keyReviewPrivate:   "Your review is your own: open it in our private chat.",
		keyReviewButton:    "Review in private",
		keyReviewChannel:   "Reviews are personal: send /review to me in a private chat.",
		keyWord:            "%d word",
		keyWords:           "%d words",
		keyToday:           "today",
		keyTomorrow:        "tomorrow",
		keyStreakFreezes:   "%s (%s held)",
		keyFreeze:          "%d freeze",
		keyFreezes:         "%d freezes",
		keySummaryTitle:    "Your week",
		keySummaryPrivate:  "Lessons: %d\nAnswers: %d, %d%% right\nWords learned: %d; due for review: %d\nStreak: %s",
		keySummaryGroup:    "This week in the chat",
		keySummaryGroupTxt: "Top 3:\n%s\nMost missed word: %s\nLessons delivered: %d",
		keySummaryNoMiss:   "none",
		keySummaryOn:       "Weekly summary: on, every %s at %s.",
		keySummaryOff:      "Weekly summary: off.",
		keyBadSummary:      "Say /summary on or /summary off.",
		keyExportAnki:      "Your %s for Anki: in Anki, File › Import, then choose this file (note type Basic; Basique in a French Anki).",
		keyExportCSV:       "Your %s as a spreadsheet file (CSV).",
		keyExportNone:      "You have no words yet: they come as you answer the quizzes.",
		keyExportPrivate:   "Your words are your own: send /export to me in a private chat.",
		keyBadExport:       "Say /export for Anki, or /export csv for a spreadsheet.",
		keyDeleteAsk:       "This deletes everything lessonbot keeps about you: your answers, your words to review, your streak, and the subscription of your private chat. It cannot be undone. Press the button, or send /deletemydata confirm.",
		keyDeleteButton:    "Delete my data",
		keyDeleted:         "Deleted: %d answers, %d review words, %d streak days, %d learner record, %d subscription and %d deliveries. The messages already in this chat stay; the platform keeps those. Send /start to begin afresh.",
		keyDeletedNothing:  "lessonbot keeps nothing about you.",
		keyBadDelete:       "Send /deletemydata, or /deletemydata confirm to delete at once.",
		keyWordGone:        "(A word of a lesson that is no longer in service.)",
		keyYou:             "you",
	},
	"fr": {
		keyLevel:       "Niveau %s",
		keyVocabulary:  "Vocabulaire",
		keySource:      "Source",
		keyFullArticle: "Article complet",

		keyWelcome:      "Bonjour ! J'envoie chaque jour une courte leçon d'anglais tirée de l'actualité : un résumé, les mots clés en français et un quiz. Envoyez /subscribe pour en recevoir une par jour, ou /lesson pour commencer tout de suite.",
		keyCommands:     "Commandes :",
		keyAdminHelp:    "Commandes d'administration :",
		keyHelpStart:    "/help : cette liste",
		keyHelpSub:      "/subscribe [HH:MM] [fuseau] : une leçon par jour dans cette discussion",
		keyHelpUnsub:    "/unsubscribe : arrêter les leçons quotidiennes",
		keyHelpPause:    "/pause [jours] : mettre les leçons en pause (jusqu'à /resume sans nombre)",
		keyHelpResume:   "/resume : reprendre les leçons",
		keyHelpSettings: "/settings : l'heure, le fuseau, les jours, le niveau et la langue de cette discussion",
		keyHelpTime:     "/time HH:MM : l'heure de la leçon quotidienne",
		keyHelpTimezone: "/timezone Zone/Ville : le fuseau horaire de cette discussion",
		keyHelpDays:     "/days lun-ven | tous | sam,dim : les jours avec une leçon",
		keyHelpLevel:    "/level A1…C2 | any : seulement les leçons de ce niveau",
		keyHelpLanguage: "/language en | fr : la langue que je parle ici",
		keyHelpLesson:   "/lesson : la leçon en cours, maintenant",
		keyHelpRead:     "/read : l'article complet de la leçon en cours",
		keyHelpQuiz:     "/quiz : les questions de la leçon en cours",
		keyHelpScore:    "/score : votre score et votre série",
		keyHelpBoard:    "/leaderboard : les meilleurs de cette discussion",
		keyHelpStats:    "/stats : abonnements, envois et réponses",
		keyHelpReload:   "/reload : recharger les leçons et lister leurs problèmes",
		keyHelpPreview:  "/preview ID : afficher le message quotidien d'une leçon",

		keyUnknownCommand: "Je ne connais pas /%s. Envoyez /help pour la liste des commandes.",
		keyTooLong:        "C'est trop long pour /%s. Envoyez /help pour les commandes et leurs arguments.",
		keyBadTime:        "%q n'est pas une heure. Utilisez HH:MM sur 24 heures, par exemple : /time 07:30",
		keyBadZone:        "Je ne connais pas le fuseau horaire %q. Utilisez un nom Zone/Ville, par exemple : /timezone Europe/Paris",
		keyBadDays:        "%q n'est pas une liste de jours. Exemples : /days lun-ven, /days tous, /days sam,dim",
		keyBadLevel:       "%q n'est pas un niveau. Utilisez A1, A2, B1, B2, C1, C2 ou any, par exemple : /level B1",
		keyBadLanguage:    "Je ne parle pas %q ici. Utilisez en ou fr, par exemple : /language en",
		keyBadPause:       "%q n'est pas un nombre de jours. Exemple : /pause 7, ou /pause seul pour une pause jusqu'à /resume",
		keyBadSubscribe:   "Je n'ai pas compris %q. Exemple : /subscribe 07:30 Europe/Paris",
		keyNoArgs:         "/%s attend une valeur. Exemple : %s",
		keyNotAllowed:     "Seuls les administrateurs de cette discussion peuvent modifier ses leçons.",
		keyAdminOnly:      "/%s est réservé aux administrateurs de lessonbot.",
		keyTrouble:        "Un problème est survenu de mon côté. Merci de réessayer dans un instant.",

		keySubscribed:      "Abonnement activé : une leçon à %s (%s), %s.",
		keyUnsubscribed:    "Désabonné : plus de leçons quotidiennes ici. Vos scores sont conservés ; envoyez /subscribe pour revenir.",
		keyNotSubscribed:   "Cette discussion n'est pas abonnée. Envoyez /subscribe pour recevoir une leçon par jour.",
		keyPausedUntil:     "En pause jusqu'au %s. Envoyez /resume pour reprendre plus tôt.",
		keyPausedForever:   "En pause jusqu'à ce que vous envoyiez /resume.",
		keyResumed:         "C'est reparti : les leçons quotidiennes reprennent.",
		keyNotPaused:       "Les leçons ne sont pas en pause.",
		keyTimeSet:         "La leçon quotidienne arrive désormais à %s (%s).",
		keyZoneSet:         "Fuseau horaire : %s. La leçon quotidienne y arrive à %s.",
		keyDaysSet:         "Les leçons arrivent désormais ces jours-là : %s.",
		keyLevelSet:        "Niveau choisi : %s.",
		keyLanguageSet:     "Je parlerai français ici.",
		keyNextLesson:      "Prochaine leçon : « %s », %s.",
		keyNextLessonNone:  "Prochaine leçon : %s, dès qu'une nouvelle leçon sera ajoutée.",
		keyNextLessonNever: "Aucune leçon n'est prévue.",

		keySettings:         "Réglages de cette discussion",
		keySettingsActive:   "Leçons quotidiennes : activées",
		keySettingsInactive: "Leçons quotidiennes : désactivées (envoyez /subscribe)",
		keySettingsPaused:   "En pause jusqu'au %s",
		keySettingsForever:  "En pause jusqu'à /resume",
		keyAnyLevel:         "tous",
		keyEveryDay:         "tous les jours",
		keyOnDays:           "les jours %s",
		keyDay:              "%d jour",
		keyDaysCount:        "%d jours",
		keyStatsTitle:       "Statistiques",
		keyDaysExample:      "/days lun-ven",

		keyStatePending:   "en attente",
		keyStateSending:   "en cours d'envoi",
		keyStateSent:      "envoyés",
		keyStateFailed:    "en échec",
		keyStateUnknown:   "peut-être envoyés",
		keyStateExhausted: "plus de leçon",

		keyNoLesson:       "Il n'y a pas encore de leçon pour cette discussion. Demandez à un administrateur d'en ajouter.",
		keyNoCurrent:      "Pas encore de leçon dans cette discussion. Envoyez /lesson pour en recevoir une.",
		keyNoQuiz:         "Cette leçon n'a pas de quiz.",
		keyQuestion:       "Question %d/%d : %s",
		keyMeaning:        "Que veut dire « %s » ?",
		keyReverse:        "Quel mot veut dire « %s » ?",
		keyRight:          "✅ Bonne réponse !",
		keyWrong:          "❌ Raté : la réponse est « %s ».",
		keyAlready:        "Vous avez déjà répondu à cette question : « %s ».",
		keyUnavailable:    "Cette question n'est plus disponible.",
		keyScore:          "%s : %d/%d bonnes réponses (%d %%). Série : %s.",
		keyScoreNone:      "%s : pas encore de réponse. Envoyez /lesson et répondez au quiz !",
		keyScoreNobody:    "Les scores sont tenus pour chaque personne qui répond au quiz avec les boutons.",
		keyTopChat:        "Top 5 de cette discussion",
		keyBoardWeek:      "Cette semaine",
		keyBoardAll:       "Depuis le début",
		keyBoardEmpty:     "Pas encore de réponse.",
		keyBoardLine:      "%d. %s : %d/%d",
		keyStats:          "Abonnements : %s\nEnvois aujourd'hui : %s\nRéponses aujourd'hui : %d",
		keyStatsHardest:   "Question la plus difficile : %s (%d/%d justes)",
		keyStatsUnknown:   "Messages peut-être non arrivés aujourd'hui (envoi interrompu, non renvoyé) : %d",
		keyStatsLesson:    "%s : %d %% de bonnes réponses (%d réponses)",
		keyStatsProblems:  "Problèmes des leçons :",
		keyReloaded:       "Rechargé : %s.",
		keyPreviewUsage:   "Précisez la leçon, par exemple : /preview %s",
		keyPreviewUnknown: "Il n'y a pas de leçon %q. Envoyez /reload pour voir les problèmes des leçons.",

		keyHelpDashboard:    "/dashboard : un lien de connexion au tableau de bord web",
		keyDashboardTitle:   "Tableau de bord",
		keyDashboardLink:    "Ouvrez ce lien pour vous connecter au tableau de bord de lessonbot. Il ne sert qu'une fois, dans les %d minutes ; gardez-le pour vous.\n%s",
		keyDashboardPrivate: "Envoyez /dashboard dans une conversation privée avec moi : le lien de connexion n'est que pour vous.",
		keyDashboardOff:     "Le tableau de bord n'est pas servi ici : lessonbot run le sert sur l'écoute d'administration, quand admin.listen est renseigné dans la configuration (par exemple 127.0.0.1:9090). Renvoyez alors /dashboard.",
		keyDashboardTooMany: "Trop de liens de connexion : %d au plus en %d minutes. Utilisez le dernier, ou renvoyez /dashboard dans quelques minutes.",

		keyHelpReview:      "/review : réviser les mots du jour, un à un",
		keyHelpSummary:     "/summary on|off : le bilan de la semaine dans cette discussion",
		keyHelpExport:      "/export [csv] : vos mots dans un fichier pour Anki (ou, avec csv, un tableur)",
		keyHelpDelete:      "/deletemydata : effacer tout ce que lessonbot garde sur vous",
		keyReviewTitle:     "Révision %d/%d",
		keyReviewCloze:     "Quelle traduction convient au blanc ?\n« %s »",
		keyReviewTerm:      "Que veut dire « %s » ?",
		keyKnowThis:        "Je connais",
		keyReviewBlock:     "Révision : %s des leçons précédentes, après le quiz.",
		keyReviewRight:     "✅ Exact ! Il reviendra %s.",
		keyReviewWrong:     "❌ C'était « %s ». Il reviendra %s.",
		keyReviewKnown:     "Marqué comme connu : il ne reviendra plus.",
		keyReviewAlready:   "Vous avez déjà révisé ce mot aujourd'hui ; rien n'a changé.",
		keyReviewGone:      "Ce mot ne fait plus partie des leçons.",
		keyReviewNone:      "Rien à réviser aujourd'hui. Prochaine révision : %s, %s.",
		keyReviewEmpty:     "Pas encore de mots à réviser : répondez au quiz d'une leçon, et les mots manqués reviendront ici.",
		keyReviewDone:      "Révision terminée : %s. Prochaine révision : %s, %s.",
		keyReviewNext:      "Révision terminée : %s. Rien d'autre à réviser.",
		keyReviewPrivate:   "Votre révision vous est propre : ouvrez-la dans notre discussion privée.",
		keyReviewButton:    "Réviser en privé",
		keyReviewChannel:   "Les révisions sont personnelles : envoyez-moi /review en discussion privée.",
		keyWord:            "%d mot",
		keyWords:           "%d mots",
		keyToday:           "aujourd'hui",
		keyTomorrow:        "demain",
		keyStreakFreezes:   "%s (%s en réserve)",
		keyFreeze:          "%d joker",
		keyFreezes:         "%d jokers",
		keySummaryTitle:    "Votre semaine",
		keySummaryPrivate:  "Leçons : %d\nRéponses : %d, %d %% justes\nMots appris : %d ; à réviser : %d\nSérie : %s",
		keySummaryGroup:    "La semaine dans la discussion",
		keySummaryGroupTxt: "Top 3 :\n%s\nMot le plus manqué : %s\nLeçons envoyées : %d",
		keySummaryNoMiss:   "aucun",
		keySummaryOn:       "Bilan de la semaine : activé, chaque %s à %s.",
		keySummaryOff:      "Bilan de la semaine : désactivé.",
		keyBadSummary:      "Envoyez /summary on ou /summary off.",
		keyExportAnki:      "Vos %s pour Anki : dans Anki, Fichier › Importer, puis choisissez ce fichier (type de note Basique).",
		keyExportCSV:       "Vos %s dans un fichier pour tableur (CSV).",
		keyExportNone:      "Vous n'avez pas encore de mots : ils viennent avec vos réponses aux quiz.",
		keyExportPrivate:   "Vos mots vous sont propres : envoyez-moi /export en discussion privée.",
		keyBadExport:       "Envoyez /export pour Anki, ou /export csv pour un tableur.",
		keyDeleteAsk:       "Ceci efface tout ce que lessonbot garde sur vous : vos réponses, vos mots à réviser, votre série et l'abonnement de votre discussion privée. C'est irréversible. Appuyez sur le bouton, ou envoyez /deletemydata confirm.",
		keyDeleteButton:    "Effacer mes données",
		keyDeleted:         "Effacé : %d réponses, %d mots à réviser, %d jours de série, %d fiche d'apprenant, %d abonnement et %d envois. Les messages déjà dans cette discussion restent : la plateforme les garde. Envoyez /start pour repartir de zéro.",
		keyDeletedNothing:  "lessonbot ne garde rien sur vous.",
		keyBadDelete:       "Envoyez /deletemydata, ou /deletemydata confirm pour effacer tout de suite.",
		keyWordGone:        "(Un mot d'une leçon qui n'est plus en service.)",
		keyYou:             "vous",
	},
}

// Languages are the UI languages the catalog has, the first the default.
var Languages = []string{"en", "fr"}

// say returns the text of k in lang (English when lang is unknown), with
// args formatted into it.
func say(lang string, k key, args ...any) string {
	texts, ok := catalog[lang]
	if !ok {
		texts = catalog["en"]
	}
	if len(args) == 0 {
		return texts[k]
	}
	return fmt.Sprintf(texts[k], args...)
}

var (
	frenchDays      = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	frenchShortDays = [...]string{"dim", "lun", "mar", "mer", "jeu", "ven", "sam"}
	frenchMonths    = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
)

// wordCount writes "1 word", "3 words" or "1 mot", "3 mots".
func wordCount(lang string, n int) string {
	if n == 1 || (lang == "fr" && n == 0) {
		return say(lang, keyWord, n)
	}
	return say(lang, keyWords, n)
}

// freezeCount writes "1 freeze", "2 freezes" or "1 joker", "2 jokers".
func freezeCount(lang string, n int) string {
	if n == 1 || (lang == "fr" && n == 0) {
		return say(lang, keyFreeze, n)
	}
	return say(lang, keyFreezes, n)
}

// dayCount writes "1 day", "3 days" or "1 jour", "3 jours".
func dayCount(lang string, n int) string {
	if n == 1 || (lang == "fr" && n == 0) {
		return say(lang, keyDay, n)
	}
	return say(lang, keyDaysCount, n)
}

// formatDay writes a date as "Monday 2 March" or "lundi 2 mars".
func formatDay(lang string, t time.Time) string {
	if lang == "fr" {
		return fmt.Sprintf("%s %d %s", frenchDays[t.Weekday()], t.Day(), frenchMonths[t.Month()-1])
	}
	return t.Format("Monday 2 January")
}

// formatWhen writes a moment as "Monday 2 March at 07:30" or "lundi 2
// mars à 07:30", in t's location.
func formatWhen(lang string, t time.Time) string {
	if lang == "fr" {
		return formatDay(lang, t) + " à " + t.Format("15:04")
	}
	return formatDay(lang, t) + " at " + t.Format("15:04")
}
