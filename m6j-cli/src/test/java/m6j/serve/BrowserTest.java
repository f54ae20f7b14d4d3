package m6j.serve;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Headless Chromium (Debian's chromium + chromium-driver, driven by Selenium) loads the page at /, streams a
 * completion, captions a dropped image, generates images and searches the index. Skips only when chromium is
 * not installed and CI is not set; on CI (.ci/run installs it) a missing browser fails the test.
 */
class BrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium"), DRIVER = Path.of("/usr/bin/chromedriver");
    static WebDriver driver;
    static Server server;

    @BeforeAll static void start() throws Exception {
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER);
        if (!present && System.getenv("CI") == null)
            Assumptions.abort("chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver); skipping the browser test");
        assertThat(present).as("CI must have chromium and chromium-driver (.ci/run installs them)").isTrue();
        server = ServeFixture.server();
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1000,1400");
        ChromeDriverService svc = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).build();
        driver = new ChromeDriver(svc, o);
    }

    @AfterAll static void stop() {
        if (driver != null) driver.quit();
    }

    WebElement done(String id) {
        new WebDriverWait(driver, Duration.ofSeconds(60)).until(d -> "1".equals(d.findElement(By.id(id)).getAttribute("data-done")));
        return driver.findElement(By.id(id));
    }

    static void noError(WebElement e) {
        assertThat(e.getAttribute("class")).as("error shown: %s", e.getText()).doesNotContain("error");
    }

    @Test void promptImageGenerationAndSearchFromThePage() throws Exception {
        driver.get(server.baseUrl() + "/");
        assertThat(driver.getTitle()).isEqualTo("m6j");
        driver.findElement(By.id("key")).sendKeys(ServeFixture.KEY);

        driver.findElement(By.id("prompt")).sendKeys("The jury said");
        driver.findElement(By.id("max")).clear();
        driver.findElement(By.id("max")).sendKeys("12");
        driver.findElement(By.id("complete")).click();
        WebElement completion = done("completion");
        noError(completion);
        // streamed: several events arrived, and text was appended (a barely trained model may write only spaces)
        assertThat(Integer.parseInt(completion.getAttribute("data-chunks"))).isGreaterThan(1);
        assertThat(completion.getAttribute("textContent")).isNotEmpty();

        File png = ServeFixture.samplePng().toAbsolutePath().toFile();
        driver.findElement(By.id("image")).sendKeys(png.getPath());
        WebElement caption = done("caption");
        noError(caption);
        assertThat(caption.getAttribute("textContent")).isNotEqualTo("…");
        assertThat(caption.getAttribute("data-finish")).isIn("stop", "length");     // a chat completion came back for the image
        assertThat(driver.findElement(By.id("preview")).isDisplayed()).isTrue();

        driver.findElement(By.id("imgprompt")).sendKeys("a red dress");
        driver.findElement(By.id("generate")).click();
        WebElement images = done("images");
        noError(images);
        assertThat(images.findElements(By.tagName("img"))).hasSize(2);

        driver.findElement(By.id("query")).sendKeys("a shirt");
        driver.findElement(By.id("search")).click();
        WebElement results = done("results");
        noError(results);
        assertThat(results.findElements(By.className("hit"))).hasSize(10);
    }
}
