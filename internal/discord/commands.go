package discord

import (
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"
	"github.com/lessonbot/lessonbot/internal/chat"
)

// MaxDescription is the longest description of a slash command or
// option.
const MaxDescription = 100

// managePermission is the default_member_permissions of the commands that
// change a chat's settings: Manage Server.
const managePermission = int64(discordgo.PermissionManageGuild)

// maxChoices is the most choices an autocomplete answer may hold.
const maxChoices = 25

// optionSpec describes one option of a slash command, with its
// descriptions by language.
type optionSpec struct {
	name         string
	kind         discordgo.ApplicationCommandOptionType
	required     bool
	en, fr       string
	choices      []choice
	autocomplete bool
	min, max     float64
}

// choice is one fixed value of an option, with its shown names.
type choice struct{ value, en, fr string }

func timeOption() optionSpec {
	return optionSpec{
		name: "time", kind: discordgo.ApplicationCommandOptionString,
		en: "Time of day, HH:MM on a 24-hour clock (for example 07:30)",
		fr: "Heure de la journée, HH:MM sur 24 heures (par exemple 07:30)",
	}
}

func zoneOption() optionSpec {
	return optionSpec{
		name: "timezone", kind: discordgo.ApplicationCommandOptionString, autocomplete: true,
		en: "Time zone, Area/City (for example Europe/Paris)",
		fr: "Fuseau horaire, Zone/Ville (par exemple Europe/Paris)",
	}
}

// commandOptions returns the options of the tutor's command name, in the
// order the tutor reads their values as arguments. A command this package
// does not know that takes arguments gets one free "args" option.
func commandOptions(info chat.CommandInfo) []optionSpec {
	required := func(o optionSpec) optionSpec { o.required = true; return o }
	switch info.Name {
	case "subscribe":
		return []optionSpec{timeOption(), zoneOption()}
	case "time":
		return []optionSpec{required(timeOption())}
	case "timezone":
		return []optionSpec{required(zoneOption())}
	case "pause":
		return []optionSpec{{
			name: "days", kind: discordgo.ApplicationCommandOptionInteger, min: 1, max: 365,
			en: "Days to pause, 1 to 365; leave it out to pause until /resume",
			fr: "Nombre de jours de pause, de 1 à 365 ; sans nombre, jusqu'à /resume",
		}}
	case "days":
		return []optionSpec{{
			name: "days", kind: discordgo.ApplicationCommandOptionString, required: true,
			en: "Days with a lesson: mon-fri, every, sat,sun or a list such as mon,wed,fri",
			fr: "Jours avec une leçon : lun-ven, tous, sam,dim ou une liste comme lun,mer,ven",
		}}
	case "level":
		o := optionSpec{
			name: "level", kind: discordgo.ApplicationCommandOptionString, required: true,
			en: "Only lessons of this level (and lessons without one)",
			fr: "Seulement les leçons de ce niveau (et celles sans niveau)",
		}
		for _, l := range []string{"A1", "A2", "B1", "B2", "C1", "C2"} {
			o.choices = append(o.choices, choice{value: l})
		}
		o.choices = append(o.choices, choice{value: "any", en: "any level", fr: "tous les niveaux"})
		return []optionSpec{o}
	case "language":
		return []optionSpec{{
			name: "language", kind: discordgo.ApplicationCommandOptionString, required: true,
			en: "The language the bot speaks in this chat",
			fr: "La langue que le bot parle dans cette discussion",
			choices: []choice{
				{value: "en", en: "English", fr: "anglais"},
				{value: "fr", en: "French", fr: "français"},
			},
		}}
	case "preview":
		return []optionSpec{{
			name: "id", kind: discordgo.ApplicationCommandOptionString, required: true,
			en: "The lesson's id: its file name without .md",
			fr: "L'identifiant de la leçon : son nom de fichier sans .md",
		}}
	}
	if info.Args == "" {
		return nil
	}
	return []optionSpec{{
		name: "args", kind: discordgo.ApplicationCommandOptionString, required: !strings.HasPrefix(info.Args, "["),
		en: clip(info.Args, MaxDescription), fr: clip(info.Args, MaxDescription),
	}}
}

// applicationCommands turns the tutor's commands into slash commands:
// names as in the tutor, descriptions in English with French
// localizations, options as commandOptions says, and Manage Server as the
// default permission of the commands that change settings and of the
// admin commands (which only lessonbot's admins may run anyway).
func applicationCommands(infos []chat.CommandInfo) []*discordgo.ApplicationCommand {
	var cmds []*discordgo.ApplicationCommand
	for _, info := range infos {
		en := description(info.Description["en"], info.Name)
		c := &discordgo.ApplicationCommand{
			Type:        discordgo.ChatApplicationCommand,
			Name:        info.Name,
			Description: en,
			Options:     []*discordgo.ApplicationCommandOption{},
		}
		if fr := info.Description["fr"]; fr != "" {
			c.DescriptionLocalizations = &map[discordgo.Locale]string{discordgo.French: description(fr, info.Name)}
		}
		if info.Manage || info.Admin {
			perm := managePermission
			c.DefaultMemberPermissions = &perm
		}
		for _, o := range commandOptions(info) {
			c.Options = append(c.Options, o.option())
		}
		cmds = append(cmds, c)
	}
	return cmds
}

func description(s, fallback string) string {
	if strings.TrimSpace(s) == "" {
		s = fallback
	}
	return clip(s, MaxDescription)
}

func (o optionSpec) option() *discordgo.ApplicationCommandOption {
	opt := &discordgo.ApplicationCommandOption{
		Type: o.kind, Name: o.name, Required: o.required, Autocomplete: o.autocomplete,
		Description:              clip(o.en, MaxDescription),
		DescriptionLocalizations: map[discordgo.Locale]string{discordgo.French: clip(o.fr, MaxDescription)},
	}
	if o.kind == discordgo.ApplicationCommandOptionInteger && o.max > 0 {
		min := o.min
		opt.MinValue, opt.MaxValue = &min, o.max
	}
	for _, c := range o.choices {
		ch := &discordgo.ApplicationCommandOptionChoice{Name: c.value, Value: c.value}
		if c.en != "" {
			ch.Name = c.en
		}
		if c.fr != "" {
			ch.NameLocalizations = map[discordgo.Locale]string{discordgo.French: c.fr}
		}
		opt.Choices = append(opt.Choices, ch)
	}
	return opt
}

// commandArgs joins a command's option values into the tutor's argument
// text, in the order the tutor reads them ("07:30 Europe/Paris"), however
// Discord ordered them; options this package does not know come last.
func commandArgs(info chat.CommandInfo, opts []*discordgo.ApplicationCommandInteractionDataOption) string {
	values := map[string]string{}
	var order []string
	for _, o := range opts {
		if o == nil {
			continue
		}
		if _, dup := values[o.Name]; !dup {
			order = append(order, o.Name)
		}
		values[o.Name] = optionValue(o)
	}
	var args []string
	used := map[string]bool{}
	for _, spec := range commandOptions(info) {
		if v, ok := values[spec.name]; ok && v != "" {
			args = append(args, v)
		}
		used[spec.name] = true
	}
	for _, name := range order {
		if v := values[name]; !used[name] && v != "" {
			args = append(args, v)
		}
	}
	return strings.Join(args, " ")
}

// optionValue writes an option's value as text: JSON numbers without a
// fraction as integers.
func optionValue(o *discordgo.ApplicationCommandInteractionDataOption) string {
	switch v := o.Value.(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	}
	return ""
}
