"""Free-mail and ISP domains: an address there says nothing about the company a person works for."""
from __future__ import annotations

FREEMAIL_DOMAINS = frozenset(
    """
    gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de ymail.com rocketmail.com
    hotmail.com hotmail.co.uk hotmail.fr hotmail.de outlook.com live.com msn.com windowslive.com
    aol.com aim.com icloud.com me.com mac.com protonmail.com proton.me pm.me tutanota.com tuta.io
    gmx.com gmx.de gmx.net web.de mail.com email.com zoho.com zohomail.com yandex.com yandex.ru
    mail.ru inbox.ru list.ru bk.ru qq.com 163.com 126.com sina.com sohu.com naver.com daum.net
    hanmail.net rediffmail.com libero.it virgilio.it orange.fr wanadoo.fr free.fr laposte.net
    sfr.fr t-online.de freenet.de arcor.de btinternet.com sky.com talktalk.net virginmedia.com
    ntlworld.com comcast.net verizon.net att.net sbcglobal.net bellsouth.net cox.net charter.net
    earthlink.net optonline.net shaw.ca rogers.com sympatico.ca telus.net bigpond.com
    optusnet.com.au hushmail.com fastmail.com fastmail.fm mailbox.org posteo.de seznam.cz
    wp.pl o2.pl onet.pl interia.pl ziggo.nl kpnmail.nl telenet.be skynet.be bluewin.ch
    """.split()
)


def is_freemail(domain: str) -> bool:
    return domain in FREEMAIL_DOMAINS
